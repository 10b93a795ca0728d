import Foundation

/// A JSON-like value passed into a template's render context.
///
/// Objects keep their keys in insertion order (templates such as `tools | tojson` print keys in the
/// order the caller gave them, exactly like Python dicts). Build them with
/// ``TemplateValue/init(jsonData:)`` / ``TemplateValue/init(jsonString:)`` (an order-preserving JSON
/// parser), with a dictionary literal (`["role": "user", "content": "Hi"]`, order kept), or with
/// ``TemplateValue/object(_:)`` and an ordered ``TemplateObject``.
public enum TemplateValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([TemplateValue])
    case object(TemplateObject)

    /// Builds an object from ordered key/value pairs (a later duplicate key replaces the value but
    /// keeps the first position, as Python dicts do).
    public static func object(_ pairs: [(String, TemplateValue)]) -> TemplateValue {
        .object(TemplateObject(pairs))
    }

    /// Parses JSON text with an order-preserving parser. Integers that fit in `Int` become `.int`,
    /// other numbers `.double`.
    public init(jsonString: String) throws {
        var parser = OrderedJSONParser(Array(jsonString.utf8))
        self = try parser.parseDocument()
    }

    /// Parses UTF-8 JSON data with an order-preserving parser.
    public init(jsonData: Data) throws {
        var parser = OrderedJSONParser(Array(jsonData))
        self = try parser.parseDocument()
    }

    /// Converts a value produced by `JSONSerialization` (or plain Swift collections).
    /// Note: `[String: Any]` has no key order, so keys are sorted to stay deterministic; use
    /// ``init(jsonData:)`` when key order matters. `NSNumber` booleans become `.bool`.
    public init(any value: Any?) {
        guard let value else { self = .null; return }
        switch value {
        case let v as TemplateValue: self = v
        case is NSNull: self = .null
        case let v as String: self = .string(v)
        case let v as Bool where !(value is NSNumber): self = .bool(v)
        case let n as NSNumber:
            if isBooleanNumber(n) { self = .bool(n.boolValue); return }
            let d = n.doubleValue
            if d.rounded() == d, !String(describing: n).contains("."), !String(describing: n).contains("e"),
               let i = Int(exactly: d) {
                self = .int(i)
            } else {
                self = .double(d)
            }
        case let v as Int: self = .int(v)
        case let v as Double: self = .double(v)
        case let v as [Any?]: self = .array(v.map { TemplateValue(any: $0) })
        case let v as [Any]: self = .array(v.map { TemplateValue(any: $0) })
        case let v as [(String, Any?)]: self = .object(v.map { ($0.0, TemplateValue(any: $0.1)) })
        case let v as [String: Any?]:
            self = .object(v.keys.sorted().map { ($0, TemplateValue(any: v[$0] ?? nil)) })
        case let v as [String: Any]:
            self = .object(v.keys.sorted().map { ($0, TemplateValue(any: v[$0])) })
        default: self = .string(String(describing: value))
        }
    }

    /// Serialises the value as compact JSON (keys in order, non-ASCII kept as is).
    public var jsonString: String {
        var out = ""
        try? JSONWriter.write(ChatTemplates.Value(self), indent: nil, level: 0, itemSep: ", ", keySep: ": ", sortKeys: false, into: &out)
        return out
    }
}

/// Distinguishes NSNumber-wrapped booleans (from JSONSerialization) from numbers.
private func isBooleanNumber(_ n: NSNumber) -> Bool {
    #if canImport(Darwin)
    return CFGetTypeID(n) == CFBooleanGetTypeID()
    #else
    // swift-corelibs-foundation reports booleans with objCType "c" (JSON never yields Int8).
    let t = String(cString: n.objCType)
    return t == "c" || t == "B"
    #endif
}

/// An insertion-ordered string-keyed dictionary.
public struct TemplateObject: Sendable, Equatable {
    public private(set) var keys: [String] = []
    private var storage: [String: TemplateValue] = [:]

    public init() {}

    public init(_ pairs: [(String, TemplateValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public subscript(key: String) -> TemplateValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public var count: Int { keys.count }

    /// Key/value pairs in insertion order.
    public var pairs: [(String, TemplateValue)] { keys.map { ($0, storage[$0]!) } }

    /// Equality ignores key order, like Python dicts.
    public static func == (a: TemplateObject, b: TemplateObject) -> Bool { a.storage == b.storage }
}

extension TemplateValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: TemplateValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, TemplateValue)...) { self = .object(TemplateObject(elements)) }
}

/// Errors from ``TemplateValue/init(jsonString:)``.
public struct JSONParseError: Error, CustomStringConvertible, Sendable {
    public var offset: Int
    public var message: String
    public var description: String { "JSON parse error at byte \(offset): \(message)" }
}

/// A small order-preserving JSON parser (RFC 8259), recursion-limited.
struct OrderedJSONParser {
    let bytes: [UInt8]
    var pos = 0
    var depth = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ msg: String) -> JSONParseError { JSONParseError(offset: pos, message: msg) }

    mutating func skipWS() {
        while pos < bytes.count, bytes[pos] == 0x20 || bytes[pos] == 0x0A || bytes[pos] == 0x0D || bytes[pos] == 0x09 {
            pos += 1
        }
    }

    mutating func parseDocument() throws -> TemplateValue {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { pos = 3 }
        skipWS()
        let v = try parseValue()
        skipWS()
        if pos != bytes.count { throw fail("trailing characters") }
        return v
    }

    mutating func parseValue() throws -> TemplateValue {
        skipWS()
        guard pos < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[pos] {
        case UInt8(ascii: "{"):
            depth += 1
            defer { depth -= 1 }
            if depth > 512 { throw fail("nesting too deep") }
            pos += 1
            var obj = TemplateObject()
            skipWS()
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(obj) }
            while true {
                skipWS()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected string key") }
                let key = try parseString()
                skipWS()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                pos += 1
                obj[key] = try parseValue()
                skipWS()
                guard pos < bytes.count else { throw fail("unexpected end of input") }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(obj) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            depth += 1
            defer { depth -= 1 }
            if depth > 512 { throw fail("nesting too deep") }
            pos += 1
            var arr: [TemplateValue] = []
            skipWS()
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(arr) }
            while true {
                arr.append(try parseValue())
                skipWS()
                guard pos < bytes.count else { throw fail("unexpected end of input") }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(arr) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"):
            try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"):
            try expectWord("null"); return .null
        default:
            return try parseNumber()
        }
    }

    mutating func expectWord(_ w: String) throws {
        let u = Array(w.utf8)
        guard pos + u.count <= bytes.count, Array(bytes[pos..<pos + u.count]) == u else { throw fail("invalid literal") }
        pos += u.count
    }

    mutating func parseNumber() throws -> TemplateValue {
        let start = pos
        var isFloat = false
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        var digits = 0
        while pos < bytes.count, bytes[pos] >= 0x30, bytes[pos] <= 0x39 { pos += 1; digits += 1 }
        if digits == 0 { throw fail("invalid number") }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            isFloat = true
            pos += 1
            var fd = 0
            while pos < bytes.count, bytes[pos] >= 0x30, bytes[pos] <= 0x39 { pos += 1; fd += 1 }
            if fd == 0 { throw fail("invalid number") }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            isFloat = true
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            var ed = 0
            while pos < bytes.count, bytes[pos] >= 0x30, bytes[pos] <= 0x39 { pos += 1; ed += 1 }
            if ed == 0 { throw fail("invalid number") }
        }
        let text = String(decoding: bytes[start..<pos], as: UTF8.self)
        if !isFloat, let i = Int(text) { return .int(i) }
        guard let d = Double(text) else { throw fail("invalid number") }
        return .double(d)
    }

    mutating func parseHex4() throws -> UInt32 {
        guard pos + 4 <= bytes.count else { throw fail("bad \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("bad \\u escape")
            }
            v = v * 16 + d
            pos += 1
        }
        return v
    }

    mutating func parseString() throws -> String {
        pos += 1  // opening quote
        var out = [UInt8]()
        while true {
            guard pos < bytes.count else { throw fail("unterminated string") }
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") { pos += 1; break }
            if c == UInt8(ascii: "\\") {
                pos += 1
                guard pos < bytes.count else { throw fail("unterminated string") }
                let e = bytes[pos]
                pos += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if code >= 0xD800, code < 0xDC00, pos + 6 <= bytes.count, bytes[pos] == UInt8(ascii: "\\"),
                       bytes[pos + 1] == UInt8(ascii: "u")
                    {
                        let save = pos
                        pos += 2
                        let low = try parseHex4()
                        if low >= 0xDC00, low < 0xE000 {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            pos = save
                        }
                    }
                    let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw fail("invalid escape")
                }
            } else {
                if c < 0x20 { throw fail("control character in string") }
                out.append(c)
                pos += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
