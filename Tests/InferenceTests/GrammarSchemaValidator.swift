import Foundation

/// A small JSON Schema validator for the grammar tests: the keywords the compiler supports,
/// over values from JSONSerialization.
struct GrammarSchemaValidator {
    let root: [String: Any]

    init(schemaJSON: String) throws {
        root = try JSONSerialization.jsonObject(with: Data(schemaJSON.utf8)) as! [String: Any]
    }

    enum Kind { case null, bool, integer, number, string, array, object }

    static func kind(_ v: Any) -> Kind {
        if v is NSNull { return .null }
        if v is String { return .string }
        if v is [Any] { return .array }
        if v is [String: Any] { return .object }
        let n = v as! NSNumber
        let t = String(cString: n.objCType)
        if t == "c" { return .bool }
        if t == "d" || t == "f" { return n.doubleValue == n.doubleValue.rounded() ? .integer : .number }
        return .integer
    }

    /// The first violation, or nil when `value` is valid.
    func violation(_ value: Any, _ schema: Any? = nil, path: String = "$") -> String? {
        let schema = schema ?? root
        if let b = schema as? Bool, Self.kind(schema) == .bool { return b ? nil : "\(path): false schema" }
        guard let s = schema as? [String: Any] else { return "\(path): bad schema" }
        if let ref = s["$ref"] as? String {
            var node: Any = root
            for part in ref.dropFirst(2).split(separator: "/") where !ref.dropFirst(1).isEmpty {
                node = (node as! [String: Any])[String(part)]!
            }
            return violation(value, node, path: path)
        }
        if let c = s["const"], !Self.equal(c, value) { return "\(path): not const" }
        if let e = s["enum"] as? [Any], !e.contains(where: { Self.equal($0, value) }) { return "\(path): not in enum" }
        if let any = (s["anyOf"] ?? s["oneOf"]) as? [Any] {
            if any.allSatisfy({ violation(value, $0, path: path) != nil }) { return "\(path): no anyOf branch" }
        }
        if let all = s["allOf"] as? [Any] {
            for sub in all { if let v = violation(value, sub, path: path) { return v } }
        }
        let kind = Self.kind(value)
        if let t = s["type"] {
            let types = (t as? [String]) ?? [t as! String]
            let ok = types.contains { name in
                name == "number" ? (kind == .number || kind == .integer) : name == (kind == .bool ? "boolean" : "\(kind)")
            }
            if !ok { return "\(path): type \(kind) not in \(types)" }
        }
        switch kind {
        case .object:
            let o = value as! [String: Any]
            let props = s["properties"] as? [String: Any] ?? [:]
            for r in s["required"] as? [String] ?? [] where o[r] == nil { return "\(path): missing \(r)" }
            for (k, v) in o {
                if let p = props[k] {
                    if let e = violation(v, p, path: "\(path).\(k)") { return e }
                } else if let ap = s["additionalProperties"] {
                    if let e = violation(v, ap, path: "\(path).\(k)") { return e }
                }
            }
        case .array:
            let a = value as! [Any]
            if let m = s["minItems"] as? Int, a.count < m { return "\(path): fewer than \(m) items" }
            if let m = s["maxItems"] as? Int, a.count > m { return "\(path): more than \(m) items" }
            let prefix = s["prefixItems"] as? [Any] ?? []
            for (i, v) in a.enumerated() {
                let sub: Any? = i < prefix.count ? prefix[i] : s["items"]
                if let sub, let e = violation(v, sub, path: "\(path)[\(i)]") { return e }
            }
        case .string:
            let str = value as! String
            let n = str.unicodeScalars.count
            if let m = s["minLength"] as? Int, n < m { return "\(path): shorter than \(m)" }
            if let m = s["maxLength"] as? Int, n > m { return "\(path): longer than \(m)" }
            if let p = s["pattern"] as? String, !Self.search(p, str) { return "\(path): \(str) does not match \(p)" }
            if let f = s["format"] as? String, !Self.format(f, str) { return "\(path): \(str) is not a \(f)" }
        case .integer, .number:
            let d = (value as! NSNumber).doubleValue
            if let m = (s["minimum"] as? NSNumber)?.doubleValue, d < m { return "\(path): \(d) < \(m)" }
            if let m = (s["maximum"] as? NSNumber)?.doubleValue, d > m { return "\(path): \(d) > \(m)" }
            if let m = s["exclusiveMinimum"] as? NSNumber, Self.kind(m) != .bool, d <= m.doubleValue { return "\(path): \(d) <= \(m)" }
            if let m = s["exclusiveMaximum"] as? NSNumber, Self.kind(m) != .bool, d >= m.doubleValue { return "\(path): \(d) >= \(m)" }
        default: break
        }
        return nil
    }

    static func equal(_ a: Any, _ b: Any) -> Bool {
        let x = try? JSONSerialization.data(withJSONObject: [a], options: [.sortedKeys])
        let y = try? JSONSerialization.data(withJSONObject: [b], options: [.sortedKeys])
        return x != nil && x == y && kind(a) == kind(b)
    }

    static func search(_ pattern: String, _ s: String) -> Bool {
        guard let re = try? NSRegularExpression(pattern: pattern) else { return false }
        return re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }

    static func format(_ f: String, _ s: String) -> Bool {
        switch f {
        case "date": return validDate(s)
        case "time": return search(#"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"#, s)
        case "date-time":
            let parts = s.split(separator: "T", maxSplits: 1).map(String.init)
            return parts.count == 2 && validDate(parts[0]) && format("time", parts[1])
        case "uuid": return search(#"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"#, s)
        case "email": return search(#"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"#, s)
        default: return false
        }
    }

    static func validDate(_ s: String) -> Bool {
        guard search(#"^\d{4}-\d{2}-\d{2}$"#, s) else { return false }
        let p = s.split(separator: "-").map { Int($0)! }
        var c = DateComponents()
        c.year = p[0]; c.month = p[1]; c.day = p[2]
        let cal = Calendar(identifier: .gregorian)
        guard p[0] >= 1, let d = cal.date(from: c) else { return false }
        let back = cal.dateComponents([.year, .month, .day], from: d)
        return back.year == p[0] && back.month == p[1] && back.day == p[2]
    }
}
