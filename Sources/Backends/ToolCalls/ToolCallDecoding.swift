// JSON text → tool calls. The shapes models write: `{"name": …, "arguments": {…}}` (Qwen,
// Hermes), `{"name": …, "parameters": {…}}` (Llama 3), OpenAI's own
// `{"type": "function", "function": {…}}`, or an array of any of these (parallel calls).

import ChatTemplates

enum ToolCallDecoding {
    /// The calls in `text` (one JSON value, or several separated by whitespace, commas or
    /// semicolons), or nil when any part is not a call to a known function.
    static func calls(in text: Substring, names: Set<String>?) -> [ToolCall]? {
        var calls: [ToolCall] = []
        var rest = text[...]
        while true {
            rest = rest.drop { $0.isWhitespace || $0 == "," || $0 == ";" }
            if rest.isEmpty { break }
            guard case .complete(let end) = JSONExtent.scan(rest.utf8) else { return nil }
            let endIndex = rest.utf8.index(rest.startIndex, offsetBy: end)
            guard let value = try? TemplateValue(jsonString: String(rest[..<endIndex])),
                  let found = decode(value, names: names) else { return nil }
            calls += found
            rest = rest[endIndex...]
        }
        return calls.isEmpty ? nil : calls
    }

    static func decode(_ value: TemplateValue, names: Set<String>?) -> [ToolCall]? {
        switch value {
        case .array(let items):
            guard !items.isEmpty else { return nil }
            var out: [ToolCall] = []
            for item in items {
                guard case .object(let o) = item, let call = call(o, names: names) else { return nil }
                out.append(call)
            }
            return out
        case .object(let o):
            return call(o, names: names).map { [$0] }
        default:
            return nil
        }
    }

    static func call(_ object: TemplateObject, names: Set<String>?) -> ToolCall? {
        if case .object(let inner)? = object["function"], object["name"] == nil { return call(inner, names: names) }
        guard case .string(let name)? = object["name"], !name.isEmpty else { return nil }
        if let names, !names.contains(name) { return nil }
        let allowed: Set<String> = ["name", "arguments", "parameters", "type", "id"]
        guard object.keys.allSatisfy(allowed.contains) else { return nil }
        let arguments: String
        switch object["arguments"] ?? object["parameters"] {
        case nil, .null?:
            arguments = "{}"
        case .object(let o)?:
            arguments = TemplateValue.object(o).jsonString
        case .string(let s)?:
            // Arguments already encoded as a JSON string (OpenAI's own shape).
            guard case .object(let o)? = try? TemplateValue(jsonString: s) else { return nil }
            arguments = TemplateValue.object(o).jsonString
        default:
            return nil
        }
        return ToolCall(name: name, arguments: arguments)
    }
}
