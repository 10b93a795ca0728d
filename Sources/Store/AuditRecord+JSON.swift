import ChatTemplates
import Foundation

extension AuditRecord {
    /// The fields lists show (the `/api/admin/logs` rows).
    public var summaryJSON: TemplateValue { .object(summaryPairs) }

    /// Every field, with the stored JSON texts (parameters, request) parsed back into JSON.
    public var detailJSON: TemplateValue {
        func parsed(_ text: String?) -> TemplateValue {
            guard let text else { return .null }
            return (try? TemplateValue(jsonString: text)) ?? .string(text)
        }
        return .object(summaryPairs + [
            ("method", .string(method)), ("request_id", .string(requestID)), ("parameters", parsed(parameters)),
            ("request", parsed(request)), ("response", response.map(TemplateValue.string) ?? .null),
            ("reasoning", reasoning.map(TemplateValue.string) ?? .null), ("error", error.map(TemplateValue.string) ?? .null),
        ])
    }

    /// One line of `studio logs --jsonl`.
    public var jsonLine: String { detailJSON.jsonString }

    var summaryPairs: [(String, TemplateValue)] {
        func int(_ v: Int?) -> TemplateValue { v.map(TemplateValue.int) ?? .null }
        func ms(_ v: Double?) -> TemplateValue { v.map { .double(($0 * 10).rounded() / 10) } ?? .null }
        return [
            ("id", .int(Int(id))), ("time", .double(time.timeIntervalSince1970)), ("key_id", int(keyID.map(Int.init))),
            ("key_name", keyName.map(TemplateValue.string) ?? .null), ("endpoint", .string(endpoint)),
            ("model", model.map(TemplateValue.string) ?? .null), ("status", .int(status)), ("prompt_tokens", int(promptTokens)),
            ("completion_tokens", int(completionTokens)), ("latency_ms", ms(latencyMs)), ("ttft_ms", ms(ttftMs)),
            ("stream", .bool(stream)), ("preview", .string(preview)),
        ]
    }
}
