import Foundation

/// One request as the audit log keeps it.
public struct AuditRecord: Sendable, Equatable {
    /// Assigned by the store (0 before it is written).
    public var id: Int64
    /// The server's id for the request (also in its logs).
    public var requestID: String
    public var time: Date
    public var keyID: Int64?
    public var keyName: String?
    public var method: String
    public var endpoint: String
    public var model: String?
    public var status: Int
    public var stream: Bool
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var latencyMs: Double?
    public var ttftMs: Double?
    /// The sampling parameters and other options, as a JSON object text.
    public var parameters: String?
    /// The messages (chat) or prompt (completion), as JSON text.
    public var request: String?
    /// The generated text (choices joined by blank lines when n > 1).
    public var response: String?
    public var error: String?
    /// The model's reasoning apart from its answer (a remote's `reasoning_content`), choices
    /// joined like `response`; nil when it gave none.
    public var reasoning: String?

    public init(id: Int64 = 0, requestID: String, time: Date, keyID: Int64? = nil, keyName: String? = nil, method: String,
                endpoint: String, model: String? = nil, status: Int, stream: Bool = false, promptTokens: Int? = nil,
                completionTokens: Int? = nil, latencyMs: Double? = nil, ttftMs: Double? = nil, parameters: String? = nil,
                request: String? = nil, response: String? = nil, error: String? = nil, reasoning: String? = nil) {
        self.id = id
        self.requestID = requestID
        self.time = time
        self.keyID = keyID
        self.keyName = keyName
        self.method = method
        self.endpoint = endpoint
        self.model = model
        self.status = status
        self.stream = stream
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.latencyMs = latencyMs
        self.ttftMs = ttftMs
        self.parameters = parameters
        self.request = request
        self.response = response
        self.error = error
        self.reasoning = reasoning
    }

    /// The first characters of the prompt's last user text, for lists.
    public var preview: String {
        let flat = Self.lastUserText(request).replacingOccurrences(of: "\n", with: " ")
        return flat.count > 120 ? String(flat.prefix(119)) + "…" : flat
    }

    static func lastUserText(_ request: String?) -> String {
        guard let request, let data = request.data(using: .utf8),
              let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return request ?? "" }
        if let messages = value as? [[String: Any]] {
            let user = messages.last { ($0["role"] as? String) == "user" } ?? messages.last
            if let content = user?["content"] as? String { return content }
            if let parts = user?["content"] as? [[String: Any]] { return parts.compactMap { $0["text"] as? String }.joined(separator: " ") }
            return ""
        }
        if let text = value as? String { return text }
        if let texts = value as? [Any] { return texts.compactMap { $0 as? String }.joined(separator: " | ") }
        return request
    }
}

/// A search of the audit log; nil fields do not filter.
public struct AuditQuery: Sendable, Equatable {
    public var model: String?
    /// A key id, or a key name.
    public var key: String?
    public var since: Date?
    /// A substring of the prompt, response, reasoning or error.
    public var grep: String?
    public var status: Int?
    public var limit: Int
    public var offset: Int

    public init(model: String? = nil, key: String? = nil, since: Date? = nil, grep: String? = nil, status: Int? = nil,
                limit: Int = 50, offset: Int = 0) {
        self.model = model
        self.key = key
        self.since = since
        self.grep = grep
        self.status = status
        self.limit = limit
        self.offset = offset
    }

    /// Reads `since` as unix seconds or ISO 8601 (`2026-11-22T14:00:00Z`, or a bare date).
    public static func parseTime(_ text: String) -> Date? {
        if let seconds = Double(text) { return Date(timeIntervalSince1970: seconds) }
        let full = ISO8601DateFormatter()
        if let d = full.date(from: text) { return d }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = fractional.date(from: text) { return d }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        return day.date(from: text)
    }
}

/// The audit log as features use it.
public protocol AuditRepository: Sendable {
    /// Appends a record (durable once this returns); returns its id.
    @discardableResult func append(_ record: AuditRecord) throws(StoreError) -> Int64
    /// Matching records, newest first, and how many match in all.
    func search(_ query: AuditQuery) throws(StoreError) -> (records: [AuditRecord], total: Int)
    func record(id: Int64) throws(StoreError) -> AuditRecord?
}
