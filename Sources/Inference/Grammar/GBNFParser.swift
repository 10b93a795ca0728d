// Parses GBNF text (the grammar notation of llama.cpp) into rules of alternatives:
//
//     root  ::= item ("," ws item)*      # a comment
//     item  ::= [a-z]+ | "\"" [^"]* "\"" | "x"{2,4} | .
//
// A rule ends where the next `name ::=` starts, so alternatives may continue on later lines.
// Literals and classes take \n \r \t \\ \" \[ \] \- \xHH \uHHHH \UHHHHHHHH escapes.

/// One piece of a GBNF alternative.
indirect enum GBNFItem: Equatable {
    /// Code points to match in order.
    case literal([UInt32])
    /// Inclusive code point ranges; `negated` matches every other code point.
    case charClass(ranges: [ClosedRange<UInt32>], negated: Bool)
    /// A reference to a rule by name.
    case reference(String)
    case group([[GBNFItem]])
    /// `item{min,max}`; a nil max is unbounded.
    case repetition(GBNFItem, min: Int, max: Int?)
}

/// A parsed rule: its name and alternatives (each a sequence of items; empty matches nothing).
struct GBNFRule: Equatable {
    var name: String
    var alternatives: [[GBNFItem]]
}

/// A recursive-descent GBNF parser over the text's code points.
struct GBNFParser {
    /// Bounded repetitions are expanded into rules, so their counts are kept reasonable.
    static let maxRepetition = 10_000
    /// Parentheses nest at most this deep (the parser recurses once per level).
    static let maxNesting = 100

    private let chars: [UInt32]
    private var i = 0
    private var depth = 0

    init(_ text: String) {
        chars = text.unicodeScalars.map(\.value)
    }

    static func parse(_ text: String) throws(GrammarError) -> [GBNFRule] {
        var parser = GBNFParser(text)
        return try parser.rules()
    }

    mutating func rules() throws(GrammarError) -> [GBNFRule] {
        var result: [GBNFRule] = []
        skipSpace()
        while i < chars.count {
            let name = try ruleName()
            skipSpace()
            guard peek("::=") else { throw error("expected \"::=\" after the rule name \"\(name)\"") }
            i += 3
            let alternatives = try self.alternatives(nested: false)
            result.append(GBNFRule(name: name, alternatives: alternatives))
            skipSpace()
            if let c = current, !Self.isNameCharacter(c) { throw error("unexpected character \"\(Self.printable(c))\"") }
        }
        return result
    }

    // MARK: - Grammar of the notation

    private mutating func alternatives(nested: Bool) throws(GrammarError) -> [[GBNFItem]] {
        var result = [try sequence(nested: nested)]
        while current == asc("|") {
            i += 1
            result.append(try sequence(nested: nested))
        }
        return result
    }

    private mutating func sequence(nested: Bool) throws(GrammarError) -> [GBNFItem] {
        var items: [GBNFItem] = []
        while true {
            skipSpace()
            guard let c = current else { break }
            if c == asc("|") || c == asc(")") { break }
            if !nested && startsRuleDefinition() { break }
            var item = try primary()
            // Postfix operators apply to the item just read.
            while let op = current {
                if op == asc("*") {
                    item = .repetition(item, min: 0, max: nil); i += 1
                } else if op == asc("+") {
                    item = .repetition(item, min: 1, max: nil); i += 1
                } else if op == asc("?") {
                    item = .repetition(item, min: 0, max: 1); i += 1
                } else if op == asc("{") {
                    let (lo, hi) = try braces()
                    item = .repetition(item, min: lo, max: hi)
                } else {
                    break
                }
            }
            items.append(item)
        }
        return items
    }

    private mutating func primary() throws(GrammarError) -> GBNFItem {
        guard let c = current else { throw error("unexpected end of the grammar") }
        switch c {
        case asc("\""):
            i += 1
            var points: [UInt32] = []
            while true {
                guard let d = current else { throw error("unterminated string literal") }
                if d == asc("\"") { i += 1; break }
                if d == 0x0A { throw error("unterminated string literal (a newline inside quotes must be written \\n)") }
                points.append(try character())
            }
            return .literal(points)
        case asc("["):
            i += 1
            var negated = false
            if current == asc("^") { negated = true; i += 1 }
            var ranges: [ClosedRange<UInt32>] = []
            while true {
                guard let d = current else { throw error("unterminated character class") }
                if d == asc("]") { i += 1; break }
                let lo = try character()
                var hi = lo
                if current == asc("-"), i + 1 < chars.count, chars[i + 1] != asc("]") {
                    i += 1
                    hi = try character()
                    guard hi >= lo else { throw error("the character range ends before it starts") }
                }
                ranges.append(lo...hi)
            }
            return .charClass(ranges: ranges, negated: negated)
        case asc("."):
            i += 1
            return .charClass(ranges: [], negated: true)
        case asc("("):
            i += 1
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maxNesting else { throw error("groups nest deeper than \(Self.maxNesting) levels") }
            let alternatives = try self.alternatives(nested: true)
            skipSpace()
            guard current == asc(")") else { throw error("expected \")\" to close the group") }
            i += 1
            return .group(alternatives)
        default:
            guard Self.isNameCharacter(c) else {
                throw error("unexpected character \"\(Self.printable(c))\"")
            }
            return .reference(try ruleName())
        }
    }

    /// `{m}`, `{m,}` or `{m,n}`.
    private mutating func braces() throws(GrammarError) -> (Int, Int?) {
        i += 1
        skipInlineSpace()
        guard let lo = number() else { throw error("expected a number after \"{\"") }
        skipInlineSpace()
        var hi: Int? = lo
        if current == asc(",") {
            i += 1
            skipInlineSpace()
            hi = number()
            skipInlineSpace()
        }
        guard current == asc("}") else { throw error("expected \"}\" to close the repetition count") }
        i += 1
        if let hi, hi < lo { throw error("the repetition {\(lo),\(hi)} has its maximum below its minimum") }
        if max(lo, hi ?? 0) > Self.maxRepetition {
            throw error("repetition counts above \(Self.maxRepetition) are not supported")
        }
        return (lo, hi)
    }

    private mutating func number() -> Int? {
        var value = 0, digits = 0
        while let c = current, c >= 0x30, c <= 0x39, digits < 9 {
            value = value * 10 + Int(c - 0x30)
            digits += 1
            i += 1
        }
        return digits > 0 ? value : nil
    }

    /// One character of a literal or class, with escapes resolved.
    private mutating func character() throws(GrammarError) -> UInt32 {
        let c = chars[i]
        i += 1
        guard c == asc("\\") else { return c }
        guard let e = current else { throw error("the grammar ends inside an escape") }
        i += 1
        switch e {
        case asc("n"): return 0x0A
        case asc("r"): return 0x0D
        case asc("t"): return 0x09
        case asc("0"): return 0
        case asc("x"): return try hex(2)
        case asc("u"): return try hex(4)
        case asc("U"): return try hex(8)
        case asc("\\"), asc("\""), asc("["), asc("]"),
            asc("-"), asc("^"), asc("/"):
            return e
        default:
            i -= 2
            throw error("unknown escape \"\\\(Self.printable(e))\"")
        }
    }

    private mutating func hex(_ count: Int) throws(GrammarError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<count {
            guard let c = current, let d = Self.hexValue(c) else {
                throw error("expected \(count) hexadecimal digits in the escape")
            }
            value = value << 4 | d
            i += 1
        }
        guard value <= 0x10FFFF else { throw error("the escape names a code point above U+10FFFF") }
        return value
    }

    private mutating func ruleName() throws(GrammarError) -> String {
        let start = i
        while let c = current, Self.isNameCharacter(c) { i += 1 }
        guard i > start else { throw error("expected a rule name") }
        return String(String.UnicodeScalarView(chars[start..<i].compactMap(Unicode.Scalar.init)))
    }

    // MARK: - Scanning helpers

    private var current: UInt32? { i < chars.count ? chars[i] : nil }

    private func peek(_ s: String) -> Bool {
        var j = i
        for u in s.unicodeScalars {
            guard j < chars.count, chars[j] == u.value else { return false }
            j += 1
        }
        return true
    }

    /// Whether `name ::=` starts at the cursor (the end of the current rule).
    private func startsRuleDefinition() -> Bool {
        var j = i
        while j < chars.count, Self.isNameCharacter(chars[j]) { j += 1 }
        guard j > i else { return false }
        while j < chars.count, chars[j] == 0x20 || chars[j] == 0x09 { j += 1 }
        return j + 2 < chars.count && chars[j] == asc(":") && chars[j + 1] == asc(":")
            && chars[j + 2] == asc("=")
    }

    /// Skips spaces, newlines and `#` comments.
    private mutating func skipSpace() {
        while let c = current {
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                i += 1
            } else if c == asc("#") {
                while let d = current, d != 0x0A { i += 1 }
            } else {
                return
            }
        }
    }

    private mutating func skipInlineSpace() {
        while let c = current, c == 0x20 || c == 0x09 { i += 1 }
    }

    static func isNameCharacter(_ c: UInt32) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39)
            || c == asc("-") || c == asc("_")
    }

    private static func hexValue(_ c: UInt32) -> UInt32? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }

    private static func printable(_ c: UInt32) -> String {
        Unicode.Scalar(c).map { String(Character($0)) } ?? "?"
    }

    private func position(_ index: Int) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for k in 0..<min(index, chars.count) {
            if chars[k] == 0x0A { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }

    private func error(_ message: String) -> GrammarError {
        let (line, column) = position(i)
        return GrammarError(.syntax(line: line, column: column, message: message))
    }
}

@inline(__always)
private func asc(_ s: Unicode.Scalar) -> UInt32 { s.value }
