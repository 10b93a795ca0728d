// A remote's refusals and failures in the backend's terms. A 4xx about the request stays the
// caller's fault (same status, the remote's message); 5xx, refused connections and timeouts are
// this backend failing (5xx), which lets a router try the next backend.

import AsyncHTTPClient
import ChatTemplates
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum RemoteErrors {
    /// The error for a non-2xx answer. `body` is the answer's text (an OpenAI error object
    /// usually; vLLM, llama-server and Ollama each shape it a little differently).
    static func status(_ status: Int, body: String, retryAfter: String?, remote: String, model: String) -> BackendError {
        let detail = ErrorDetail(body)
        let message = detail.message ?? (body.isEmpty ? "HTTP \(status)" : String(body.prefix(500)))
        switch status {
        case 401, 403:
            return .unavailable("The remote '\(remote)' refused Studio's credentials (HTTP \(status)): \(message) Check its --remote-key.")
        case 404:
            // An OpenAI-style error about the model, or a URL that is not an OpenAI API at all.
            if detail.message != nil { return .modelNotFound(model, available: []) }
            return .unavailable("The remote '\(remote)' has no such endpoint (HTTP 404); check its URL (it should end in /v1).")
        case 408:
            return .unavailable("The remote '\(remote)' timed out (HTTP 408): \(message)")
        case 429:
            return .busy("The remote '\(remote)' is busy (HTTP 429): \(message)", retryAfterSeconds: retryAfter.flatMap { Int($0) } ?? 1)
        case 400..<500:
            if detail.code == "context_length_exceeded" { return .contextLengthExceeded(message) }
            return .invalidRequest(message, param: detail.param)
        case 503:
            return .unavailable("The remote '\(remote)' is unavailable (HTTP 503): \(message)")
        default:
            return .internalError("The remote '\(remote)' failed (HTTP \(status)): \(message)")
        }
    }

    /// An error object sent inside the stream (after the 200 status line).
    static func inStream(_ value: TemplateValue, remote: String) -> BackendError {
        let detail = ErrorDetail(value)
        let message = detail.message ?? value.jsonString
        if detail.code == "context_length_exceeded" { return .contextLengthExceeded(message) }
        if let status = detail.status, (400..<500).contains(status), status != 429 {
            return .invalidRequest(message, param: detail.param)
        }
        return .internalError("The remote '\(remote)' failed during the answer: \(message)")
    }

    /// A transport failure: connection refused, timeouts, a dropped connection.
    static func transport(_ error: any Error, remote: String, url: String, idleTimeout: Duration) -> BackendError {
        if let error = error as? BackendError { return error }
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout:
                return .unavailable("The remote '\(remote)' sent nothing for \(text(idleTimeout)).")
            case .connectTimeout:
                return .unavailable("The remote '\(remote)' at \(url) did not accept a connection in time.")
            case .deadlineExceeded:
                return .unavailable("The remote '\(remote)' did not finish the answer in time.")
            case .remoteConnectionClosed:
                return .unavailable("The remote '\(remote)' closed the connection before the answer was complete.")
            default:
                break
            }
        }
        return .unavailable("The remote '\(remote)' at \(url) cannot be reached: \(reason(error)).")
    }

    /// A socket error in a few words ("connection refused"), else the error's own text.
    static func reason(_ error: any Error) -> String {
        guard let io = error as? IOError else { return "\(error)" }
        switch io.errnoCode {
        case ECONNREFUSED: return "connection refused"
        case EHOSTUNREACH: return "host unreachable"
        case ENETUNREACH: return "network unreachable"
        case ETIMEDOUT: return "connection timed out"
        default: return "\(error)"
        }
    }

    static func text(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms"
    }
}

/// The parts of an error answer we use, from `{"error": {…}}`, `{"error": "…"}` or a flat
/// `{"message": …, "code": …}`.
struct ErrorDetail {
    var message: String?
    var code: String?
    var param: String?
    /// A numeric `code` (llama-server and vLLM put the HTTP status there).
    var status: Int?

    init(_ body: String) {
        self.init((try? TemplateValue(jsonString: body)) ?? .null)
    }

    init(_ value: TemplateValue) {
        guard case .object(let top) = value else { return }
        var object = top
        switch top["error"] {
        case .object(let inner)?: object = inner
        case .string(let s)?: message = s; return
        default: break
        }
        if case .string(let m)? = object["message"] { message = m }
        switch object["code"] {
        case .string(let c)?: code = c
        case .int(let i)?: status = i
        default: break
        }
        if case .string(let p)? = object["param"] { param = p }
    }
}
