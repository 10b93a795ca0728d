/// `json.dumps(value, ensure_ascii=False, indent=..., separators=..., sort_keys=...)` as Hugging Face's
/// `tojson` filter calls it.
enum JSONWriter {
    static func write(_ v: Value, indent: String?, level: Int, itemSep: String, keySep: String, sortKeys: Bool,
                      into out: inout String) throws
    {
        if level > 200 { throw ValueError(.runtime, "maximum recursion depth exceeded while encoding a JSON object") }
        switch v {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += floatText(d)
        case .string(let s): JSONString.append(s, to: &out)
        case .list(let l): try writeArray(l.items, indent: indent, level: level, itemSep: itemSep, keySep: keySep, sortKeys: sortKeys, into: &out)
        case .tuple(let t): try writeArray(t, indent: indent, level: level, itemSep: itemSep, keySep: keySep, sortKeys: sortKeys, into: &out)
        case .dict(let d):
            if d.count == 0 { out += "{}"; return }
            var pairs: [(String, Value)] = []
            for (k, val) in d.pairs { pairs.append((try keyText(k), val)) }
            if sortKeys { pairs.sort { scalarCompare($0.0, $1.0) < 0 } }
            out += "{"
            let inner = indent.map { "\n" + String(repeating: $0, count: level + 1) }
            if let inner { out += inner }
            for (n, (k, val)) in pairs.enumerated() {
                if n > 0 { out += itemSep; if let inner { out += inner } }
                JSONString.append(k, to: &out)
                out += keySep
                try write(val, indent: indent, level: level + 1, itemSep: itemSep, keySep: keySep, sortKeys: sortKeys, into: &out)
            }
            if let indent { out += "\n" + String(repeating: indent, count: level) }
            out += "}"
        default:
            throw ValueError(.type, "Object of type \(v.typeName) is not JSON serializable")
        }
    }

    static func writeArray(_ items: [Value], indent: String?, level: Int, itemSep: String, keySep: String, sortKeys: Bool,
                           into out: inout String) throws
    {
        if items.isEmpty { out += "[]"; return }
        out += "["
        let inner = indent.map { "\n" + String(repeating: $0, count: level + 1) }
        if let inner { out += inner }
        for (n, item) in items.enumerated() {
            if n > 0 { out += itemSep; if let inner { out += inner } }
            try write(item, indent: indent, level: level + 1, itemSep: itemSep, keySep: keySep, sortKeys: sortKeys, into: &out)
        }
        if let indent { out += "\n" + String(repeating: indent, count: level) }
        out += "]"
    }

    static func floatText(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return pyFloatRepr(d)
    }

    static func keyText(_ k: Value) throws -> String {
        switch k {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return floatText(d)
        case .bool(let b): return b ? "true" : "false"
        case .none: return "null"
        default: throw ValueError(.type, "keys must be str, int, float, bool or None, not \(k.typeName)")
        }
    }

    /// `ensure_ascii=True`: every non-ASCII code point becomes `\uXXXX` (UTF-16 surrogate pairs above U+FFFF).
    static func asciiEscape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            if c.value < 0x80 {
                out.unicodeScalars.append(c)
            } else {
                for unit in String(c).utf16 {
                    let h = String(unit, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                }
            }
        }
        return out
    }
}
