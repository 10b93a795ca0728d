/// Tokens of a template: literal text and the tokens inside `{{ }}` / `{% %}`.
enum TokenKind: Equatable, Sendable {
    case data(String)
    case varBegin, varEnd, blockBegin, blockEnd
    case name(String)
    case string(String)
    case int(Int)
    case float(Double)
    case op(String)
    case eof
}

struct Token: Sendable {
    var kind: TokenKind
    var pos: SourcePos
}

/// Python's `str.isspace()` (also what `\s` matches in a unicode regex).
@inline(__always)
func isPySpace(_ s: Unicode.Scalar) -> Bool {
    switch s.value {
    case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
        return true
    default:
        return false
    }
}

/// Splits template source into tokens, applying jinja2's whitespace rules as Hugging Face
/// configures them: `trim_blocks=True` (one newline after a block or comment tag is dropped),
/// `lstrip_blocks=True` (whitespace before a block or comment tag at the start of a line is
/// dropped), `-` markers strip all whitespace on that side, `+` markers disable lstrip/trim.
/// Newlines in the source are normalised to `\n` and a single trailing newline is removed
/// (`keep_trailing_newline=False`).
struct Lexer {
    var src: [Unicode.Scalar]
    var pos = 0
    var tokens: [Token] = []
    /// Line start offsets for position reporting.
    var lineStarts: [Int] = [0]

    init(_ source: String) {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(source.unicodeScalars.count)
        var it = source.unicodeScalars.makeIterator()
        var pendingCR = false
        while let s = it.next() {
            if pendingCR {
                pendingCR = false
                if s == "\n" { continue }
            }
            if s == "\r" {
                out.append("\n")
                pendingCR = true
            } else {
                out.append(s)
            }
        }
        if out.last == "\n" { out.removeLast() }
        src = out
        for (i, c) in src.enumerated() where c == "\n" { lineStarts.append(i + 1) }
    }

    func position(_ offset: Int) -> SourcePos {
        // binary search the line
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return SourcePos(line: lo + 1, column: offset - lineStarts[lo] + 1)
    }

    func error(_ msg: String, at offset: Int) -> TemplateError {
        let p = position(offset)
        return TemplateError(kind: .syntax, message: msg, line: p.line, column: p.column)
    }

    @inline(__always) func at(_ i: Int) -> Unicode.Scalar? { i < src.count ? src[i] : nil }

    func matches(_ s: String, at i: Int) -> Bool {
        var j = i
        for c in s.unicodeScalars {
            guard j < src.count, src[j] == c else { return false }
            j += 1
        }
        return true
    }

    mutating func emit(_ kind: TokenKind, _ offset: Int) {
        tokens.append(Token(kind: kind, pos: position(offset)))
    }

    /// Applies begin-tag stripping to `text` (scalars before a tag) and returns the kept part.
    func stripBefore(_ text: ArraySlice<Unicode.Scalar>, sign: Unicode.Scalar?, isVariable: Bool, lineStarting: Bool)
        -> ArraySlice<Unicode.Scalar>
    {
        if sign == "-" {
            var end = text.endIndex
            while end > text.startIndex, isPySpace(text[end - 1]) { end -= 1 }
            return text[text.startIndex..<end]
        }
        if sign != "+" && !isVariable {
            var lpos = text.startIndex
            if let nl = text.lastIndex(of: "\n") { lpos = nl + 1 }
            if lpos > text.startIndex || lineStarting {
                if text[lpos...].allSatisfy(isPySpace) { return text[text.startIndex..<lpos] }
            }
        }
        return text
    }

    mutating func tokenize() throws -> [Token] {
        var lineStarting = true
        let n = src.count
        while pos < n {
            // find next tag opener
            var i = pos
            var found = -1
            while i + 1 < n {
                if src[i] == "{" {
                    let c = src[i + 1]
                    if c == "{" || c == "%" || c == "#" { found = i; break }
                }
                i += 1
            }
            if found < 0 {
                emit(.data(String(String.UnicodeScalarView(src[pos..<n]))), pos)
                pos = n
                break
            }
            let kindChar = src[found + 1]
            var j = found + 2
            var sign: Unicode.Scalar? = nil
            if let c = at(j), c == "-" || c == "+" { sign = c; j += 1 }
            let text = stripBefore(src[pos..<found], sign: sign, isVariable: kindChar == "{", lineStarting: lineStarting)
            if !text.isEmpty { emit(.data(String(String.UnicodeScalarView(text))), pos) }

            switch kindChar {
            case "#":
                // comment: ends at the first "#}"
                var k = j
                var end = -1
                while k + 1 < n {
                    if src[k] == "#" && src[k + 1] == "}" { end = k; break }
                    k += 1
                }
                if end < 0 { throw error("Missing end of comment tag", at: found) }
                var after = end + 2
                if end - 1 >= j, src[end - 1] == "-" {
                    while after < n, isPySpace(src[after]) { after += 1 }
                } else if end - 1 >= j, src[end - 1] == "+" {
                    // keep
                } else if after < n, src[after] == "\n" {
                    after += 1
                }
                lineStarting = after > end + 2 ? src[after - 1] == "\n" : false
                pos = after
            case "%":
                if let rawEnd = try lexRawIfPresent(openAt: found, bodyStart: j) {
                    lineStarting = rawEnd.lineStarting
                    pos = rawEnd.next
                    continue
                }
                emit(.blockBegin, found)
                pos = j
                lineStarting = try lexTagContents(isBlock: true, openAt: found)
            default:
                emit(.varBegin, found)
                pos = j
                lineStarting = try lexTagContents(isBlock: false, openAt: found)
            }
        }
        emit(.eof, src.count)
        return tokens
    }

    /// Handles `{% raw %}...{% endraw %}`. Returns nil if the block tag is not `raw`.
    mutating func lexRawIfPresent(openAt: Int, bodyStart: Int) throws -> (next: Int, lineStarting: Bool)? {
        var k = bodyStart
        while k < src.count, isPySpace(src[k]) { k += 1 }
        guard matches("raw", at: k) else { return nil }
        k += 3
        while k < src.count, isPySpace(src[k]) { k += 1 }
        var bodyFrom: Int
        if matches("-%}", at: k) {
            bodyFrom = k + 3
            while bodyFrom < src.count, isPySpace(src[bodyFrom]) { bodyFrom += 1 }
        } else if matches("%}", at: k) {
            bodyFrom = k + 2  // jinja2 does not apply trim_blocks after `{% raw %}`
        } else {
            return nil
        }
        var lineStarting = bodyFrom > 0 && src[bodyFrom - 1] == "\n"
        // find {%[-+]? \s* endraw \s* [+-]?%}
        var i = bodyFrom
        while i + 1 < src.count {
            if src[i] == "{" && src[i + 1] == "%" {
                var m = i + 2
                var sign: Unicode.Scalar? = nil
                if let c = at(m), c == "-" || c == "+" { sign = c; m += 1 }
                while m < src.count, isPySpace(src[m]) { m += 1 }
                if matches("endraw", at: m) {
                    m += 6
                    while m < src.count, isPySpace(src[m]) { m += 1 }
                    var next = -1
                    if matches("+%}", at: m) {
                        next = m + 3
                    } else if matches("-%}", at: m) {
                        next = m + 3
                        while next < src.count, isPySpace(src[next]) { next += 1 }
                    } else if matches("%}", at: m) {
                        next = m + 2
                        if next < src.count, src[next] == "\n" { next += 1 }
                    }
                    if next >= 0 {
                        let body = stripBefore(src[bodyFrom..<i], sign: sign, isVariable: false, lineStarting: lineStarting)
                        if !body.isEmpty { emit(.data(String(String.UnicodeScalarView(body))), bodyFrom) }
                        lineStarting = next > 0 && src[next - 1] == "\n"
                        return (next, lineStarting)
                    }
                }
            }
            i += 1
        }
        _ = lineStarting
        throw error("Missing end of raw directive", at: openAt)
    }

    static let operators2: Set<String> = ["//", "**", "==", "!=", ">=", "<="]
    static let operators1: Set<Unicode.Scalar> = [
        "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";",
    ]

    static func isNameStart(_ c: Unicode.Scalar) -> Bool {
        c == "_" || (c.value < 128 ? (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") : c.properties.isXIDStart)
    }

    static func isNameContinue(_ c: Unicode.Scalar) -> Bool {
        c == "_" || (c.value < 128
            ? (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9")
            : c.properties.isXIDContinue)
    }

    static func isDigit(_ c: Unicode.Scalar?) -> Bool {
        guard let c else { return false }
        return c >= "0" && c <= "9"
    }

    /// Lexes tokens up to the closing `}}` / `%}`. Returns whether the consumed end ends a line.
    mutating func lexTagContents(isBlock: Bool, openAt: Int) throws -> Bool {
        var brackets: [(Unicode.Scalar, Int)] = []
        let n = src.count
        while true {
            guard pos < n else {
                throw error(isBlock ? "Unexpected end of template: missing '%}'" : "Unexpected end of template: missing '}}'", at: openAt)
            }
            let c = src[pos]
            if isPySpace(c) { pos += 1; continue }
            if brackets.isEmpty {
                if isBlock {
                    if matches("-%}", at: pos) {
                        emit(.blockEnd, pos)
                        pos += 3
                        let start = pos
                        while pos < n, isPySpace(src[pos]) { pos += 1 }
                        return pos > start && src[pos - 1] == "\n"
                    }
                    if matches("+%}", at: pos) {
                        emit(.blockEnd, pos)
                        pos += 3
                        return false
                    }
                    if matches("%}", at: pos) {
                        emit(.blockEnd, pos)
                        pos += 2
                        if pos < n, src[pos] == "\n" { pos += 1; return true }
                        return false
                    }
                } else {
                    if matches("-}}", at: pos) {
                        emit(.varEnd, pos)
                        pos += 3
                        let start = pos
                        while pos < n, isPySpace(src[pos]) { pos += 1 }
                        return pos > start && src[pos - 1] == "\n"
                    }
                    if matches("}}", at: pos) {
                        emit(.varEnd, pos)
                        pos += 2
                        return false
                    }
                }
            }
            let start = pos
            if Lexer.isNameStart(c) {
                pos += 1
                while pos < n, Lexer.isNameContinue(src[pos]) { pos += 1 }
                emit(.name(String(String.UnicodeScalarView(src[start..<pos]))), start)
                continue
            }
            if Lexer.isDigit(c) {
                try lexNumber()
                continue
            }
            if c == "'" || c == "\"" {
                try lexString(quote: c)
                continue
            }
            if pos + 1 < n {
                let two = String(String.UnicodeScalarView(src[pos..<pos + 2]))
                if Lexer.operators2.contains(two) {
                    emit(.op(two), start)
                    pos += 2
                    continue
                }
            }
            if Lexer.operators1.contains(c) {
                if c == "(" || c == "[" || c == "{" {
                    brackets.append((c, pos))
                } else if c == ")" || c == "]" || c == "}" {
                    let expected: Unicode.Scalar = c == ")" ? "(" : (c == "]" ? "[" : "{")
                    guard let last = brackets.last else { throw error("unexpected '\(c)'", at: pos) }
                    if last.0 != expected {
                        let close: Unicode.Scalar = last.0 == "(" ? ")" : (last.0 == "[" ? "]" : "}")
                        throw error("unexpected '\(c)', expected '\(close)'", at: pos)
                    }
                    brackets.removeLast()
                }
                emit(.op(String(c)), start)
                pos += 1
                continue
            }
            throw error("unexpected char \(pyRepr(String(c))) at \(pos)", at: pos)
        }
    }

    mutating func lexNumber() throws {
        let start = pos
        let n = src.count
        func digits() {
            while pos < n, Lexer.isDigit(src[pos]) || (src[pos] == "_" && pos + 1 < n && Lexer.isDigit(src[pos + 1])) {
                pos += 1
            }
        }
        digits()
        var isFloat = false
        if pos + 1 < n, src[pos] == ".", Lexer.isDigit(src[pos + 1]) {
            isFloat = true
            pos += 1
            digits()
        }
        if pos < n, src[pos] == "e" || src[pos] == "E" {
            var k = pos + 1
            if k < n, src[k] == "+" || src[k] == "-" { k += 1 }
            if k < n, Lexer.isDigit(src[k]) {
                isFloat = true
                pos = k
                digits()
            }
        }
        let text = String(String.UnicodeScalarView(src[start..<pos].filter { $0 != "_" }))
        if isFloat {
            emit(.float(Double(text) ?? .infinity), start)
        } else {
            guard let v = Int(text) else { throw error("integer literal too large", at: start) }
            emit(.int(v), start)
        }
    }

    mutating func lexString(quote: Unicode.Scalar) throws {
        let start = pos
        pos += 1
        var out = String.UnicodeScalarView()
        let n = src.count
        while true {
            guard pos < n else { throw error("unexpected end of string", at: start) }
            let c = src[pos]
            if c == quote { pos += 1; break }
            if c == "\\" {
                guard pos + 1 < n else { throw error("unexpected end of string", at: start) }
                let e = src[pos + 1]
                pos += 2
                switch e {
                case "\n": break  // line continuation
                case "\\": out.append("\\")
                case "'": out.append("'")
                case "\"": out.append("\"")
                case "a": out.append("\u{07}")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "n": out.append("\n")
                case "r": out.append("\r")
                case "t": out.append("\t")
                case "v": out.append("\u{0B}")
                case "0"..."7":
                    var v = e.value - 48
                    var count = 1
                    while count < 3, pos < n, src[pos] >= "0", src[pos] <= "7" {
                        v = v * 8 + (src[pos].value - 48)
                        pos += 1
                        count += 1
                    }
                    out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
                case "x", "u", "U":
                    let len = e == "x" ? 2 : (e == "u" ? 4 : 8)
                    var v: UInt32 = 0
                    for _ in 0..<len {
                        guard pos < n, let d = hexValue(src[pos]) else {
                            throw error("invalid \\\(e) escape in string literal", at: start)
                        }
                        v = v &* 16 &+ d
                        pos += 1
                    }
                    guard let s = Unicode.Scalar(v) else { throw error("invalid \\\(e) escape in string literal", at: start) }
                    out.append(s)
                default:
                    out.append("\\")
                    out.append(e)
                }
                continue
            }
            out.append(c)
            pos += 1
        }
        emit(.string(String(out)), start)
    }
}

func hexValue(_ c: Unicode.Scalar) -> UInt32? {
    switch c {
    case "0"..."9": return c.value - 48
    case "a"..."f": return c.value - 87
    case "A"..."F": return c.value - 55
    default: return nil
    }
}
