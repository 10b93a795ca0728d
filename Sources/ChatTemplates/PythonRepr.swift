import Foundation

// MARK: - str() and repr()

func pyStr(_ v: Value) -> String {
    switch v {
    case .undefined: return ""
    case .string(let s): return s
    default: return pyRepr(v)
    }
}

func pyRepr(_ v: Value) -> String {
    switch v {
    case .undefined: return "Undefined"
    case .none: return "None"
    case .bool(let b): return b ? "True" : "False"
    case .int(let i): return String(i)
    case .double(let d): return pyFloatRepr(d)
    case .string(let s): return pyRepr(s)
    case .list(let l): return "[" + l.items.map(pyRepr).joined(separator: ", ") + "]"
    case .tuple(let t):
        if t.count == 1 { return "(" + pyRepr(t[0]) + ",)" }
        return "(" + t.map(pyRepr).joined(separator: ", ") + ")"
    case .dict(let d):
        return "{" + d.pairs.map { pyRepr($0.0) + ": " + pyRepr($0.1) }.joined(separator: ", ") + "}"
    case .namespace(let d):
        return "<Namespace {" + d.pairs.map { pyRepr($0.0) + ": " + pyRepr($0.1) }.joined(separator: ", ") + "}>"
    case .callable(let c):
        if c.name.hasPrefix("macro:") { return "<Macro '\(c.name.dropFirst(6))'>" }
        return "<built-in function \(c.name)>"
    case .loop: return "<LoopContext>"
    case .iterator(let it):
        return it.typeName == "generator" ? "<generator object \(it.label)>" : "<\(it.typeName) object>"
    }
}

func isPrintable(_ s: Unicode.Scalar) -> Bool {
    if s.value < 0x7F { return s.value >= 0x20 }
    switch s.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
        return false
    default:
        return true
    }
}

func pyRepr(_ s: String) -> String {
    let hasSingle = s.unicodeScalars.contains("'")
    let hasDouble = s.unicodeScalars.contains("\"")
    let quote: Unicode.Scalar = hasSingle && !hasDouble ? "\"" : "'"
    var out = String.UnicodeScalarView()
    out.append(quote)
    func hex(_ v: UInt32, _ width: Int) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - h.count)) + h
    }
    for c in s.unicodeScalars {
        if c == quote || c == "\\" {
            out.append("\\")
            out.append(c)
        } else if c == "\t" {
            out.append(contentsOf: "\\t".unicodeScalars)
        } else if c == "\n" {
            out.append(contentsOf: "\\n".unicodeScalars)
        } else if c == "\r" {
            out.append(contentsOf: "\\r".unicodeScalars)
        } else if isPrintable(c) {
            out.append(c)
        } else if c.value < 0x100 {
            out.append(contentsOf: ("\\x" + hex(c.value, 2)).unicodeScalars)
        } else if c.value < 0x10000 {
            out.append(contentsOf: ("\\u" + hex(c.value, 4)).unicodeScalars)
        } else {
            out.append(contentsOf: ("\\U" + hex(c.value, 8)).unicodeScalars)
        }
    }
    out.append(quote)
    return String(out)
}

/// Python's `repr(float)`: shortest round-trip digits, exponent form when the decimal exponent is
/// < -4 or >= 16.
func pyFloatRepr(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "inf" }
    if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
    var text = String(describing: abs(d))  // shortest round-trip digits
    var exp = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        exp = Int(text[text.index(after: e)...]) ?? 0
        text = String(text[..<e])
    }
    var intPart = text
    var fracPart = ""
    if let dot = text.firstIndex(of: ".") {
        intPart = String(text[..<dot])
        fracPart = String(text[text.index(after: dot)...])
    }
    var digits = Array(intPart + fracPart)
    var decpt = intPart.count + exp
    while digits.first == "0" {
        digits.removeFirst()
        decpt -= 1
    }
    while digits.last == "0" { digits.removeLast() }
    if digits.isEmpty { return d.sign == .minus ? "-0.0" : "0.0" }
    let sign = d < 0 ? "-" : ""
    let ds = String(digits)
    if decpt <= -4 || decpt > 16 {
        let e = decpt - 1
        var m = String(digits[0])
        if digits.count > 1 { m += "." + String(digits[1...]) }
        let es = String(abs(e))
        return sign + m + "e" + (e < 0 ? "-" : "+") + (es.count < 2 ? "0" + es : es)
    }
    if decpt <= 0 { return sign + "0." + String(repeating: "0", count: -decpt) + ds }
    if decpt >= digits.count { return sign + ds + String(repeating: "0", count: decpt - digits.count) + ".0" }
    return sign + String(digits[..<decpt]) + "." + String(digits[decpt...])
}

// MARK: - equality and ordering

func pyEqual(_ a: Value, _ b: Value) -> Bool {
    switch (a, b) {
    case (.undefined, .undefined), (.none, .none): return true
    case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
    case (.list(let x), .list(let y)):
        return x === y || (x.items.count == y.items.count && zip(x.items, y.items).allSatisfy { pyEqual($0, $1) })
    case (.tuple(let x), .tuple(let y)):
        return x.count == y.count && zip(x, y).allSatisfy { pyEqual($0, $1) }
    case (.dict(let x), .dict(let y)):
        if x === y { return true }
        guard x.count == y.count else { return false }
        for (k, v) in x.pairs {
            guard let w = y.get(k), pyEqual(v, w) else { return false }
        }
        return true
    case (.namespace(let x), .namespace(let y)): return x === y
    case (.callable(let x), .callable(let y)): return x === y
    case (.loop(let x), .loop(let y)): return x === y
    case (.iterator(let x), .iterator(let y)): return x === y
    default:
        if let x = a.asNumber, let y = b.asNumber {
            switch (x, y) {
            case (.int(let i), .int(let j)): return i == j
            case (.int(let i), .double(let e)): return Double(i) == e
            case (.double(let e), .int(let j)): return e == Double(j)
            case (.double(let e), .double(let f)): return e == f
            default: return false
            }
        }
        return false
    }
}

func scalarCompare(_ x: String, _ y: String) -> Int {
    var i1 = x.unicodeScalars.makeIterator()
    var i2 = y.unicodeScalars.makeIterator()
    while true {
        let a = i1.next(), b = i2.next()
        switch (a, b) {
        case (nil, nil): return 0
        case (nil, _): return -1
        case (_, nil): return 1
        case (let p?, let q?):
            if p.value < q.value { return -1 }
            if p.value > q.value { return 1 }
        }
    }
}

/// Three-way comparison with Python ordering rules; throws TypeError for unorderable types.
func pyCompare(_ a: Value, _ b: Value, op: String) throws -> Int {
    switch (a, b) {
    case (.string(let x), .string(let y)): return scalarCompare(x, y)
    case (.list(let x), .list(let y)): return try seqCompare(x.items, y.items, op: op)
    case (.tuple(let x), .tuple(let y)): return try seqCompare(x, y, op: op)
    default:
        if let x = a.asNumber, let y = b.asNumber {
            switch (x, y) {
            case (.int(let i), .int(let j)): return i < j ? -1 : (i == j ? 0 : 1)
            default:
                let p = x.doubleValue, q = y.doubleValue
                if p.isNaN || q.isNaN { return 2 }  // unordered: all comparisons false
                return p < q ? -1 : (p == q ? 0 : 1)
            }
        }
        throw ValueError(.type, "'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
    }
}

func seqCompare(_ x: [Value], _ y: [Value], op: String) throws -> Int {
    for (p, q) in zip(x, y) where !pyEqual(p, q) {
        return try pyCompare(p, q, op: op)
    }
    return x.count < y.count ? -1 : (x.count == y.count ? 0 : 1)
}

extension Value {
    var doubleValue: Double {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return .nan
        }
    }
}
