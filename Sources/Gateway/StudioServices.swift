import ChatTemplates
import Foundation
import Hummingbird
import ModelHub
import Store

/// What the studio's own `/api` and the key, audit and prompt features need: the store, the
/// Studio home (installed models, pulls) and whether to redact personal data in the audit log.
public struct StudioServices: Sendable {
    public var store: Store
    public var home: StudioHome
    /// Mask emails, phone, card and IBAN numbers before the audit log stores a text.
    public var redact: Bool
    /// Seconds on a monotonic clock, for the per-key rate limits (tests pass a clock they control).
    public var clock: @Sendable () -> Double

    public init(store: Store, home: StudioHome, redact: Bool = false, clock: @escaping @Sendable () -> Double = RateLimiter.monotonicSeconds) {
        self.store = store
        self.home = home
        self.redact = redact
        self.clock = clock
    }
}

extension APIError {
    /// A store failure in HTTP terms: unknown things 404, bad input 400, the database 500.
    init(_ error: StoreError) {
        switch error {
        case .notFound: self.init(status: .notFound, message: error.description, code: "not_found")
        case .invalid: self.init(status: .badRequest, message: error.description, code: "invalid_value")
        case .database: self.init(status: .internalServerError, message: error.description, type: "server_error")
        }
    }
}

/// Small helpers the `/api` handlers share.
enum APIJSON {
    static func ok(_ value: TemplateValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: JSONText.encode(value))))
    }

    /// Runs a store call, turning its error into the HTTP error.
    static func store<T>(_ body: () throws(StoreError) -> T) throws(APIError) -> T {
        do { return try body() } catch { throw APIError(error) }
    }

    static func unix(_ date: Date) -> TemplateValue { .int(Int(date.timeIntervalSince1970)) }
    static func optional(_ value: Int?) -> TemplateValue { value.map(TemplateValue.int) ?? .null }
    static func optional(_ value: String?) -> TemplateValue { value.map(TemplateValue.string) ?? .null }
    static func optional(_ value: Double?) -> TemplateValue { value.map(TemplateValue.double) ?? .null }

    /// A query parameter as an integer in `range`; 400 naming it otherwise.
    static func int(_ request: Request, _ name: String, default value: Int, in range: ClosedRange<Int>) throws(APIError) -> Int {
        guard let text = request.uri.queryParameters.get(name), !text.isEmpty else { return value }
        guard let i = Int(text), range.contains(i) else {
            throw .invalidValue(name, "'\(name)' must be an integer between \(range.lowerBound) and \(range.upperBound), got '\(text)'.")
        }
        return i
    }
}
