import Foundation

/// Runtime values with Python semantics. Lists and dicts are reference types (as in Python), so
/// `append` on a list is visible through every name bound to it.
enum Value {
    case undefined(Undef)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list(ListBox)
    case tuple([Value])
    case dict(DictBox)
    case namespace(DictBox)
    case callable(Callable)
    case loop(LoopBox)
    /// A one-shot Python iterator (what jinja2's `select`, `map`, `items`, `reverse` ... return):
    /// always truthy, has no length, and is consumed by iteration.
    case iterator(IterBox)
}

/// Why a value is undefined; used for jinja2's UndefinedError messages.
struct Undef {
    var hint: String
    static func name(_ n: String) -> Undef { Undef(hint: "'\(n)' is undefined") }
    static func attribute(of obj: Value, _ name: String) -> Undef {
        Undef(hint: "'\(objectTypeRepr(obj))' has no attribute '\(name)'")
    }
    static func element(of obj: Value, _ key: Value) -> Undef {
        if case .string(let s) = key { return attribute(of: obj, s) }
        return Undef(hint: "'\(objectTypeRepr(obj))' has no element \(pyRepr(key))")
    }
}

/// jinja2's `object_type_repr`.
func objectTypeRepr(_ v: Value) -> String {
    if case .none = v { return "None" }
    return "\(v.typeName) object"
}

final class ListBox {
    var items: [Value]
    init(_ items: [Value]) { self.items = items }
}

/// An insertion-ordered Python dict. String keys are indexed; other keys use a linear scan.
final class DictBox {
    private(set) var keys: [Value] = []
    private(set) var values: [Value] = []
    private var stringIndex: [String: Int] = [:]

    init() {}

    init(_ pairs: [(Value, Value)]) {
        for (k, v) in pairs { set(k, v) }
    }

    var count: Int { keys.count }

    func index(of key: Value) -> Int? {
        if case .string(let s) = key { return stringIndex[s] }
        return keys.firstIndex { pyEqual($0, key) }
    }

    func get(_ key: Value) -> Value? {
        if let i = index(of: key) { return values[i] }
        return nil
    }

    func get(_ key: String) -> Value? {
        if let i = stringIndex[key] { return values[i] }
        return nil
    }

    func set(_ key: Value, _ value: Value) {
        if let i = index(of: key) {
            values[i] = value
        } else {
            if case .string(let s) = key { stringIndex[s] = keys.count }
            keys.append(key)
            values.append(value)
        }
    }

    func set(_ key: String, _ value: Value) { set(.string(key), value) }

    var pairs: [(Value, Value)] { Array(zip(keys, values)) }

    func copy() -> DictBox { DictBox(pairs) }
}

/// A callable value: a macro, a global function or a bound method.
final class Callable {
    let name: String
    let fn: (CallArgs, Interpreter) throws -> Value
    init(_ name: String, _ fn: @escaping (CallArgs, Interpreter) throws -> Value) {
        self.name = name
        self.fn = fn
    }
}

/// The `loop` variable of a for loop.
final class LoopBox {
    var items: [Value]
    var index0 = 0
    var depth0: Int
    var recurse: Callable?
    var lastChanged: [Value]? = nil
    init(items: [Value], depth0: Int) {
        self.items = items
        self.depth0 = depth0
    }
}

/// State of a one-shot iterator. Items are computed eagerly; an error raised while computing them
/// is kept and thrown when iteration reaches it (as a Python generator would).
final class IterBox {
    let typeName: String
    let label: String
    var items: [Value]
    var pos = 0
    var pendingError: ValueError?

    init(typeName: String, label: String, items: [Value], pendingError: ValueError? = nil) {
        self.typeName = typeName
        self.label = label
        self.items = items
        self.pendingError = pendingError
    }

    /// Builds a generator by running `body`, keeping items produced before an error.
    static func generator(_ label: String, _ body: (inout [Value]) throws -> Void) -> Value {
        var items: [Value] = []
        var err: ValueError? = nil
        do { try body(&items) } catch let e as ValueError { err = e } catch { err = ValueError(.runtime, "\(error)") }
        return .iterator(IterBox(typeName: "generator", label: label, items: items, pendingError: err))
    }

    /// Consumes everything left.
    func drain() throws -> [Value] {
        let rest = Array(items[pos...])
        pos = items.count
        if let e = pendingError { pendingError = nil; throw e }
        return rest
    }

    /// Consumes one item (nil when exhausted).
    func next() throws -> Value? {
        if pos < items.count { pos += 1; return items[pos - 1] }
        if let e = pendingError { pendingError = nil; throw e }
        return nil
    }
}

/// Positional and keyword arguments of a call.
struct CallArgs {
    var positional: [Value]
    var keywords: [(String, Value)]

    init(_ positional: [Value] = [], _ keywords: [(String, Value)] = []) {
        self.positional = positional
        self.keywords = keywords
    }

    func keyword(_ name: String) -> Value? { keywords.last { $0.0 == name }?.1 }

    /// Binds arguments to parameter names Python-style (positional first, then keywords).
    /// Returns nil for missing parameters that have no default.
    func bind(_ fname: String, _ params: [String], defaults: [String: Value] = [:]) throws -> [String: Value] {
        if positional.count > params.count {
            throw ValueError(.type, "\(fname)() takes at most \(params.count) argument\(params.count == 1 ? "" : "s") (\(positional.count) given)")
        }
        var out: [String: Value] = defaults
        for (i, v) in positional.enumerated() { out[params[i]] = v }
        for (k, v) in keywords {
            guard let idx = params.firstIndex(of: k) else {
                throw ValueError(.type, "\(fname)() got an unexpected keyword argument '\(k)'")
            }
            if idx < positional.count { throw ValueError(.type, "\(fname)() got multiple values for argument '\(k)'") }
            out[k] = v
        }
        return out
    }
}

extension Value {
    init(_ t: TemplateValue) {
        switch t {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(ListBox(a.map(Value.init)))
        case .object(let o): self = .dict(DictBox(o.pairs.map { (.string($0.0), Value($0.1)) }))
        }
    }

    /// Python type name (as used in TypeError messages).
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .callable(let c): return c.name.hasPrefix("macro:") ? "Macro" : "builtin_function_or_method"
        case .loop: return "LoopContext"
        case .iterator(let it): return it.typeName
        }
    }

    var isNone: Bool {
        if case .none = self { return true }
        return false
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.items.isEmpty
        case .tuple(let t): return !t.isEmpty
        case .dict(let d): return d.count > 0
        case .namespace, .callable, .loop, .iterator: return true
        }
    }

    /// Numeric view (bool counts as int, as in Python).
    var asNumber: Value? {
        switch self {
        case .bool(let b): return .int(b ? 1 : 0)
        case .int, .double: return self
        default: return nil
        }
    }
}

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

// MARK: - Python string helpers (code point based)

extension String {
    var scalars: [Unicode.Scalar] { Array(unicodeScalars) }
    init(scalars: some Sequence<Unicode.Scalar>) {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars)
        self = String(v)
    }
}

func pyUpper(_ s: String) -> String { s.uppercased() }
func pyLower(_ s: String) -> String { s.lowercased() }

func pyCapitalize(_ s: String) -> String {
    guard let f = s.unicodeScalars.first else { return s }
    let rest = String(scalars: s.unicodeScalars.dropFirst())
    return String(f).uppercased() + rest.lowercased()
}

/// Python's `str.title()`: a letter after a non-letter is uppercased, other letters lowercased.
func pyTitleMethod(_ s: String) -> String {
    var out = ""
    var prevCased = false
    for c in s.unicodeScalars {
        let isCased = c.properties.isCased
        if isCased {
            out += prevCased ? String(c).lowercased() : String(c).uppercased()
        } else {
            out.unicodeScalars.append(c)
        }
        prevCased = isCased
    }
    return out
}

/// Python `str.splitlines()` line boundaries.
func isLineBoundary(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029: return true
    default: return false
    }
}

func pySplitlines(_ s: String, keepends: Bool = false) -> [String] {
    let sc = s.scalars
    var lines: [String] = []
    var start = 0
    var i = 0
    while i < sc.count {
        if isLineBoundary(sc[i]) {
            var end = i + 1
            if sc[i] == "\r", i + 1 < sc.count, sc[i + 1] == "\n" { end = i + 2 }
            lines.append(String(scalars: sc[start..<(keepends ? end : i)]))
            start = end
            i = end
        } else {
            i += 1
        }
    }
    if start < sc.count { lines.append(String(scalars: sc[start...])) }
    return lines
}

func pyStrip(_ s: String, chars: String?, left: Bool, right: Bool) -> String {
    let sc = s.scalars
    let set: Set<Unicode.Scalar>? = chars.map { Set($0.unicodeScalars) }
    func strip(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? isPySpace(c) }
    var lo = 0, hi = sc.count
    if left { while lo < hi, strip(sc[lo]) { lo += 1 } }
    if right { while hi > lo, strip(sc[hi - 1]) { hi -= 1 } }
    return String(scalars: sc[lo..<hi])
}

func pySplit(_ s: String, sep: String?, maxsplit: Int) throws -> [String] {
    let sc = s.scalars
    var out: [String] = []
    if let sep {
        let p = sep.scalars
        if p.isEmpty { throw ValueError(.value, "empty separator") }
        var start = 0, i = 0
        while i + p.count <= sc.count {
            if (maxsplit < 0 || out.count < maxsplit), sc[i] == p[0], Array(sc[i..<i + p.count]) == p {
                out.append(String(scalars: sc[start..<i]))
                i += p.count
                start = i
            } else {
                i += 1
            }
        }
        out.append(String(scalars: sc[start...]))
        return out
    }
    var i = 0
    while true {
        while i < sc.count, isPySpace(sc[i]) { i += 1 }
        if i >= sc.count { break }
        if maxsplit >= 0 && out.count >= maxsplit {
            var end = sc.count
            while end > i, isPySpace(sc[end - 1]) { end -= 1 }
            out.append(String(scalars: sc[i..<end]))
            break
        }
        let start = i
        while i < sc.count, !isPySpace(sc[i]) { i += 1 }
        out.append(String(scalars: sc[start..<i]))
    }
    return out
}

func pyRsplit(_ s: String, sep: String?, maxsplit: Int) throws -> [String] {
    if maxsplit < 0 { return try pySplit(s, sep: sep, maxsplit: -1) }
    // reverse trick: split the reversed string with the reversed separator
    let rev = String(scalars: s.unicodeScalars.reversed())
    let rsep = sep.map { String(scalars: $0.unicodeScalars.reversed()) }
    return try pySplit(rev, sep: rsep, maxsplit: maxsplit).reversed().map { String(scalars: $0.unicodeScalars.reversed()) }
}

func pyReplace(_ s: String, _ old: String, _ new: String, count: Int = -1) -> String {
    let sc = s.scalars, o = old.scalars, n = new.scalars
    var out: [Unicode.Scalar] = []
    var done = 0
    if o.isEmpty {
        for (idx, c) in sc.enumerated() {
            if count < 0 || done < count { out += n; done += 1 }
            out.append(c)
            _ = idx
        }
        if count < 0 || done < count { out += n }
        return String(scalars: out)
    }
    var i = 0
    while i < sc.count {
        if (count < 0 || done < count), i + o.count <= sc.count, sc[i] == o[0], Array(sc[i..<i + o.count]) == o {
            out += n
            i += o.count
            done += 1
        } else {
            out.append(sc[i])
            i += 1
        }
    }
    return String(scalars: out)
}

func pyFind(_ s: String, _ sub: String, reverse: Bool = false) -> Int {
    let sc = s.scalars, p = sub.scalars
    if p.count > sc.count { return -1 }
    let range = Array(0...(sc.count - p.count))
    for i in (reverse ? range.reversed() : range) where Array(sc[i..<i + p.count]) == p { return i }
    return -1
}

func pyCount(_ s: String, _ sub: String) -> Int {
    let sc = s.scalars, p = sub.scalars
    if p.isEmpty { return sc.count + 1 }
    var i = 0, n = 0
    while i + p.count <= sc.count {
        if Array(sc[i..<i + p.count]) == p { n += 1; i += p.count } else { i += 1 }
    }
    return n
}
