// A JSON string literal, written once for every JSON producer in Studio (the templates'
// `tojson`, the Gateway's responses, the grammar compiler's literals): quotes, backslashes and
// control characters escaped, everything else (non-ASCII included) kept as it is, as Python's
// json.dumps(ensure_ascii=False) writes it.

public enum JSONString {
    /// Appends `s` as a quoted JSON string literal.
    public static func append(_ s: String, to out: inout String) {
        out += "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 {
                    let h = String(c.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        out += "\""
    }

    /// `s` as a quoted JSON string literal.
    public static func quoted(_ s: String) -> String {
        var out = ""
        append(s, to: &out)
        return out
    }
}
