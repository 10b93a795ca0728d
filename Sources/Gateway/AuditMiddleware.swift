import ChatTemplates
import Foundation
import Hummingbird
import Store

/// Gives every `/v1` and `/api` request a `RequestTrace` (its id, key and JSON body) and writes
/// its audit record: status, latency and error for requests that end here (4xx included), while
/// generations are recorded by `AuditingBackend` when their stream ends. Plain reads of the
/// studio's own `/api` (GET, answered 2xx) are not recorded: the web UI polls them.
struct AuditMiddleware<Context: RequestContext>: RouterMiddleware {
    let audit: any AuditRepository
    let redactor: Redactor?

    /// The audit record's `request_id`, sent back so a client can find its record.
    static var requestIDField: HTTPFields.Element.Name { .init("X-Request-Id")! }

    static func isAudited(_ path: String) -> Bool {
        path == "/v1" || path.hasPrefix("/v1/") || path.hasPrefix("/api/")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard Self.isAudited(path) else { return try await next(request, context) }
        let trace = RequestTrace(method: request.method.rawValue, path: path)
        return try await RequestTrace.$current.withValue(trace) {
            var request = request
            do {
                if request.method == .post || request.method == .put {
                    let buffer = try await request.body.collect(upTo: Gateway.maxBodyBytes)
                    request.body = RequestBody(buffer: buffer)
                    if case .object(let o)? = try? TemplateValue(jsonData: Data(buffer.readableBytesView)) { trace.body = o }
                }
                var response = try await next(request, context)
                response.headers[Self.requestIDField] = trace.id
                let status = Int(response.status.code)
                let quietRead = path.hasPrefix("/api/") && request.method == .get && status < 400
                if !trace.recordedByBackend && !quietRead { write(trace, status: status, error: nil) }
                return response
            } catch {
                // A generation that failed before its first event was already recorded by AuditingBackend.
                if !trace.recordedByBackend {
                    let api = ErrorMiddleware<Context>.map(error, request: request)
                    write(trace, status: Int(api.status.code), error: api.message)
                }
                throw error
            }
        }
    }

    func write(_ trace: RequestTrace, status: Int, error: String?) {
        let body = trace.body
        var requestText: String?
        if trace.path.hasPrefix("/v1/"), let body {
            requestText = (body["messages"] ?? body["prompt"])?.jsonString
        }
        let record = AuditRecord(
            requestID: trace.id, time: trace.time, keyID: trace.key.flatMap { $0.id == 0 ? nil : $0.id }, keyName: trace.key?.name,
            method: trace.method, endpoint: trace.path, model: body?.string("model"),
            status: status, stream: body?["stream"] == .bool(true), latencyMs: trace.elapsedMs,
            request: requestText.map { redactor?.redact($0) ?? $0 }, error: error.map { redactor?.redact($0) ?? $0 })
        do { try audit.append(record) } catch { AuditingBackend.reportFailure(error, trace: trace) }
    }
}

extension TemplateObject {
    /// The string under `key`, if it is one.
    func string(_ key: String) -> String? {
        if case .string(let s)? = self[key] { return s }
        return nil
    }
}
