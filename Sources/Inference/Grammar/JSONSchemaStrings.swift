// GBNF for the inside of JSON strings: the formats date, time, date-time, uuid and email, and
// the usual regex subset for `pattern` (literals, classes, escapes \d \w \s, groups, alternation,
// ? * + {m,n}, anchors ^ $). The grammar describes the JSON text, so a character that JSON must
// escape is written escaped; classes and `.` never produce a quote, a backslash or a control
// character (they produce a subset of what the pattern allows, which is still valid).

import ChatTemplates

enum JSONStringGrammar {
    /// A character of a JSON string (one escape counts as one character). \u escapes of UTF-16
    /// surrogates are left out: a lone surrogate is refused by strict JSON parsers.
    static let character =
        "[^\"\\\\\\x00-\\x1F] | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" ( [0-9a-cA-Ce-fE-F] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2} ) )"
    /// Characters a class may produce without escaping.
    static let plainExclusions: [ClosedRange<UInt32>] = [0...0x1F, 0x22...0x22, 0x5C...0x5C]

    static let date =
        "[1-9] [0-9]{3} \"-\" ( ( \"0\" [13578] | \"1\" [02] ) \"-\" ( \"0\" [1-9] | [12] [0-9] | \"3\" [01] )"
        + " | ( \"0\" [469] | \"11\" ) \"-\" ( \"0\" [1-9] | [12] [0-9] | \"30\" )"
        + " | \"02-\" ( \"0\" [1-9] | \"1\" [0-9] | \"2\" [0-8] ) )"
    static let time =
        "( [01] [0-9] | \"2\" [0-3] ) \":\" [0-5] [0-9] \":\" [0-5] [0-9] ( \".\" [0-9]{1,6} )?"
        + " ( \"Z\" | [+-] ( [01] [0-9] | \"2\" [0-3] ) \":\" [0-5] [0-9] )"
    static let uuid = "[0-9a-f]{8} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{12}"
    static let email =
        "[a-zA-Z0-9_%+-] [a-zA-Z0-9._%+-]{0,31} \"@\" [a-zA-Z0-9] [a-zA-Z0-9-]{0,30} ( \".\" [a-zA-Z0-9] [a-zA-Z0-9-]{0,30} ){0,3} \".\" [a-zA-Z]{2,6}"

    /// The content grammar of a format, or nil when the format is not supported.
    static func format(_ name: String) -> String? {
        switch name {
        case "date": date
        case "time": time
        case "date-time": "( " + date + " ) \"T\" ( " + time + " )"
        case "uuid": uuid
        case "email": email
        default: nil
        }
    }

    /// Whether JSON must escape this character inside a string.
    static func needsEscape(_ c: UInt32) -> Bool { c < 0x20 || c == 0x22 || c == 0x5C }

    /// A GBNF class of every code point outside `ranges`.
    static func charClass(excluding ranges: [ClosedRange<UInt32>]) -> String {
        RegexToGBNF.classText(RegexToGBNF.complement(ranges), negated: false)
    }

    /// GBNF a literal string of code points stands for, written as JSON string content.
    static func literal(_ text: String) -> String {
        let quoted = JSONString.quoted(text)
        return gbnfLiteral(String(quoted.dropFirst().dropLast()))
    }

    /// A GBNF string literal matching exactly `text`.
    static func gbnfLiteral(_ text: String) -> String {
        var out = "\""
        for u in text.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    out += "\\x" + (u.value < 16 ? "0" : "") + String(u.value, radix: 16)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// The string content a `pattern` allows; throws a message naming the unsupported feature.
    static func pattern(_ pattern: String) throws(RegexError) -> String {
        var parser = RegexToGBNF(Array(pattern.unicodeScalars))
        return try parser.whole()
    }

    struct RegexError: Error { let message: String }
}

/// Translates a regex (the subset above) to a GBNF expression over JSON string content.
struct RegexToGBNF {
    let s: [Unicode.Scalar]
    var i = 0
    static let anyCharacter = "[^\"\\\\\\x00-\\x1F]"

    init(_ s: [Unicode.Scalar]) { self.s = s }

    typealias RegexError = JSONStringGrammar.RegexError

    mutating func whole() throws(RegexError) -> String {
        var anchoredStart = false
        if i < s.count, s[i] == "^" { anchoredStart = true; i += 1 }
        var body = try alternation(depth: 0)
        var anchoredEnd = false
        if i < s.count, s[i] == "$" { anchoredEnd = true; i += 1 }
        guard i == s.count else { throw RegexError(message: "unexpected \"\(s[i])\" at position \(i + 1)") }
        body = "( " + (body.isEmpty ? "\"\"" : body) + " )"
        // JSON Schema patterns match anywhere unless anchored.
        let free = "( " + Self.anyCharacter + " )*"
        return (anchoredStart ? "" : free + " ") + body + (anchoredEnd ? "" : " " + free)
    }

    private mutating func alternation(depth: Int) throws(RegexError) -> String {
        var alts = [try sequence(depth: depth)]
        while i < s.count, s[i] == "|" {
            i += 1
            alts.append(try sequence(depth: depth))
        }
        return alts.map { $0.isEmpty ? "\"\"" : $0 }.joined(separator: " | ")
    }

    private mutating func sequence(depth: Int) throws(RegexError) -> String {
        var items: [String] = []
        while i < s.count {
            let c = s[i]
            if c == "|" || c == ")" { break }
            if c == "$" {
                // Only a final anchor is supported.
                if depth == 0 && i == s.count - 1 { break }
                throw RegexError(message: "\"$\" is only supported at the end of the pattern")
            }
            if c == "^" { throw RegexError(message: "\"^\" is only supported at the start of the pattern") }
            var atom = try self.atom(depth: depth)
            if i < s.count {
                switch s[i] {
                case "*": atom = "( " + atom + " )*"; i += 1
                case "+": atom = "( " + atom + " )+"; i += 1
                case "?": atom = "( " + atom + " )?"; i += 1
                case "{":
                    let (lo, hi) = try braces()
                    atom = "( " + atom + " ){\(lo)," + (hi.map(String.init) ?? "") + "}"
                default: break
                }
                if i < s.count, s[i] == "?" { i += 1 }  // lazy quantifiers match the same strings
                if i < s.count, "*+?{".unicodeScalars.contains(s[i]) {
                    throw RegexError(message: "a quantifier follows another quantifier")
                }
            }
            items.append(atom)
        }
        return items.joined(separator: " ")
    }

    private mutating func atom(depth: Int) throws(RegexError) -> String {
        let c = s[i]
        i += 1
        switch c {
        case "(":
            guard depth < 50 else { throw RegexError(message: "groups nest deeper than 50 levels") }
            if i < s.count, s[i] == "?" {
                guard i + 1 < s.count, s[i + 1] == ":" else {
                    throw RegexError(message: "lookarounds and named groups are not supported")
                }
                i += 2
            }
            let inner = try alternation(depth: depth + 1)
            guard i < s.count, s[i] == ")" else { throw RegexError(message: "a group is not closed") }
            i += 1
            return "( " + inner + " )"
        case ".": return Self.anyCharacter
        case "[": return try charClass()
        case "\\": return try escape(inClass: false).gbnf
        case "*", "+", "?", "{": throw RegexError(message: "a quantifier has nothing to repeat")
        default: return JSONStringGrammar.literal(String(c))
        }
    }

    /// An escape: either a class (\d …) or one literal character.
    private mutating func escape(inClass: Bool) throws(RegexError) -> (gbnf: String, ranges: [ClosedRange<UInt32>]?, negated: Bool, char: UInt32?) {
        guard i < s.count else { throw RegexError(message: "the pattern ends with a backslash") }
        let e = s[i]
        i += 1
        let digit: [ClosedRange<UInt32>] = [0x30...0x39]
        let word: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
        let space: [ClosedRange<UInt32>] = [0x20...0x20]
        switch e {
        case "d": return (Self.classText(digit, negated: false), digit, false, nil)
        case "w": return (Self.classText(word, negated: false), word, false, nil)
        case "s": return (Self.classText(space, negated: false), space, false, nil)
        case "D": return (Self.classText(digit, negated: true), digit, true, nil)
        case "W": return (Self.classText(word, negated: true), word, true, nil)
        case "S": return (Self.classText([0x09...0x0D, 0x20...0x20], negated: true), [0x09...0x0D, 0x20...0x20], true, nil)
        case "n": return (JSONStringGrammar.literal("\n"), nil, false, 0x0A)
        case "t": return (JSONStringGrammar.literal("\t"), nil, false, 0x09)
        case "r": return (JSONStringGrammar.literal("\r"), nil, false, 0x0D)
        case "b", "B": throw RegexError(message: "word boundaries (\\b) are not supported")
        case "1"..."9": throw RegexError(message: "back-references are not supported")
        default:
            if e.properties.isAlphabetic || e.properties.numericType != nil {
                throw RegexError(message: "the escape \\\(e) is not supported")
            }
            return (JSONStringGrammar.literal(String(e)), nil, false, e.value)
        }
    }

    private mutating func charClass() throws(RegexError) -> String {
        var negated = false
        if i < s.count, s[i] == "^" { negated = true; i += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        var first = true
        while true {
            guard i < s.count else { throw RegexError(message: "a character class is not closed") }
            if s[i] == "]" && !first { i += 1; break }
            first = false
            var lo: UInt32
            if s[i] == "\\" {
                i += 1
                let e = try escape(inClass: true)
                if let r = e.ranges {
                    guard !e.negated else { throw RegexError(message: "negated escapes inside [...] are not supported") }
                    ranges += r
                    continue
                }
                lo = e.char!
            } else {
                lo = s[i].value
                i += 1
            }
            var hi = lo
            if i + 1 < s.count, s[i] == "-", s[i + 1] != "]" {
                i += 1
                if s[i] == "\\" {
                    i += 1
                    guard let c = try escape(inClass: true).char else {
                        throw RegexError(message: "a class escape cannot end a range")
                    }
                    hi = c
                } else {
                    hi = s[i].value
                    i += 1
                }
                guard hi >= lo else { throw RegexError(message: "a character range ends before it starts") }
            }
            ranges.append(lo...hi)
        }
        return Self.classText(ranges, negated: negated)
    }

    /// A GBNF class for `ranges` (or their complement), minus what JSON must escape.
    static func classText(_ ranges: [ClosedRange<UInt32>], negated: Bool) -> String {
        var allowed: [ClosedRange<UInt32>]
        if negated {
            allowed = Self.complement(ranges + JSONStringGrammar.plainExclusions)
        } else {
            allowed = Self.complement(Self.complement(ranges) + JSONStringGrammar.plainExclusions)
        }
        if allowed.isEmpty { allowed = [] }
        if allowed.isEmpty { return "[^\\x00-\\U0010FFFF]" }
        return "[" + allowed.map { r in
            r.lowerBound == r.upperBound ? Self.classChar(r.lowerBound) : Self.classChar(r.lowerBound) + "-" + Self.classChar(r.upperBound)
        }.joined() + "]"
    }

    private static func classChar(_ c: UInt32) -> String {
        if c < 0x20 || (c >= 0xD800 && c <= 0xDFFF) || c == 0x7F || c == 0x5D || c == 0x5B || c == 0x5C || c == 0x2D || c == 0x5E || c == 0x22 || c > 0xFFFF {
            let h = String(c, radix: 16)
            return c > 0xFFFF ? "\\U" + String(repeating: "0", count: 8 - h.count) + h : "\\u" + String(repeating: "0", count: 4 - h.count) + h
        }
        return String(UnicodeScalar(c)!)
    }

    /// The code points in 0...0x10FFFF not covered by `ranges`.
    static func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var out: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if r.lowerBound > next { out.append(next...(r.lowerBound - 1)) }
            if r.upperBound >= next { next = r.upperBound + 1 }
            if next > 0x10FFFF { return out }
        }
        out.append(next...0x10FFFF)
        return out
    }

    private mutating func braces() throws(RegexError) -> (Int, Int?) {
        i += 1
        func num(_ p: inout RegexToGBNF) -> Int? {
            var v = 0, n = 0
            while p.i < p.s.count, let d = p.s[p.i].properties.numericType != nil ? Int(String(p.s[p.i])) : nil, n < 6 {
                v = v * 10 + d; n += 1; p.i += 1
            }
            return n > 0 ? v : nil
        }
        guard let lo = num(&self) else { throw RegexError(message: "a {m,n} quantifier needs a number") }
        var hi: Int? = lo
        if i < s.count, s[i] == "," {
            i += 1
            hi = num(&self)
        }
        guard i < s.count, s[i] == "}" else { throw RegexError(message: "a {m,n} quantifier is not closed") }
        i += 1
        if let hi, hi < lo { throw RegexError(message: "a {m,n} quantifier has m > n") }
        return (lo, hi)
    }
}
