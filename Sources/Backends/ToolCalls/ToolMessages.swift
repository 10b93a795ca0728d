// OpenAI sends an assistant turn's tool-call arguments as a JSON string; chat templates such as
// Qwen2.5's print them with `arguments | tojson`, which expects an object (a string would come
// out quoted twice). Before rendering, arguments that are a JSON object in a string become the
// object, as llama.cpp does for templates that want objects.

import ChatTemplates

enum ToolMessages {
    static func prepared(_ messages: [TemplateValue]) -> [TemplateValue] {
        messages.map { message in
            guard case .object(var m) = message, case .array(let calls)? = m["tool_calls"] else { return message }
            m["tool_calls"] = .array(calls.map(decodedArguments))
            return .object(m)
        }
    }

    private static func decodedArguments(_ call: TemplateValue) -> TemplateValue {
        guard case .object(var c) = call, case .object(var f)? = c["function"],
              case .string(let text)? = f["arguments"],
              let parsed = try? TemplateValue(jsonString: text), case .object = parsed else { return call }
        f["arguments"] = parsed
        c["function"] = .object(f)
        return .object(c)
    }
}
