import ChatTemplates

/// Compact JSON for responses, keys in the order they were built (OpenAI's field order). Numbers
/// that JSON cannot carry (NaN, ±infinity) are written as null, so a response is always valid.
enum JSONText {
    static func encode(_ value: TemplateValue) -> String {
        var out = ""
        out.reserveCapacity(256)
        write(value, into: &out)
        return out
    }

    static func write(_ value: TemplateValue, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isFinite {
                if d == d.rounded(), abs(d) < 1e15 { out += String(Int(d)) + ".0" } else { out += "\(d)" }
            } else {
                out += "null"
            }
        case .string(let s): JSONString.append(s, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                write(item, into: &out)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (i, (key, item)) in object.pairs.enumerated() {
                if i > 0 { out += "," }
                JSONString.append(key, to: &out)
                out += ":"
                write(item, into: &out)
            }
            out += "}"
        }
    }
}
