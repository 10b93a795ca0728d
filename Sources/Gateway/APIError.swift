import Backends
import ChatTemplates
import Hummingbird

/// An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}` with the HTTP
/// status OpenAI uses for it.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?
    /// Seconds for a `Retry-After` header (429, 503).
    public var retryAfter: Int?

    public init(status: HTTPResponse.Status, message: String, type: String = "invalid_request_error",
                param: String? = nil, code: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.retryAfter = retryAfter
    }

    public var description: String { message }

    /// A 400 for a field with a value of the wrong type.
    static func wrongType(_ param: String, expected: String) -> APIError {
        APIError(status: .badRequest, message: "Invalid type for '\(param)': expected \(expected).", param: param, code: "invalid_type")
    }

    /// A 400 for a field whose value is out of range.
    static func invalidValue(_ param: String, _ message: String) -> APIError {
        APIError(status: .badRequest, message: message, param: param, code: "invalid_value")
    }

    static func missing(_ param: String) -> APIError {
        APIError(status: .badRequest, message: "Missing required parameter: '\(param)'.", param: param, code: "missing_required_parameter")
    }

    /// The backend's error in OpenAI's terms.
    init(_ error: BackendError) {
        let retry: Int? = if case .busy(_, let s) = error { s } else { nil }
        self.init(status: HTTPResponse.Status(code: error.httpStatus), message: error.description, type: error.type,
                  param: error.param, code: error.code, retryAfter: retry)
    }

    /// The error object as JSON.
    var json: TemplateValue {
        .object([
            ("error", .object([
                ("message", .string(message)),
                ("type", .string(type)),
                ("param", param.map(TemplateValue.string) ?? .null),
                ("code", code.map(TemplateValue.string) ?? .null),
            ])),
        ])
    }

    public var headers: HTTPFields {
        var h: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { h[.retryAfter] = String(retryAfter) }
        return h
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: JSONText.encode(json))))
    }
}
