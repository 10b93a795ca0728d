import Backends
import Hummingbird

/// Turns every error a route throws into OpenAI's error JSON, so clients never see
/// Hummingbird's plain-text errors: unknown routes become 404 `invalid_request_error`, bodies over
/// the limit 413, backend refusals their own status, anything unexpected a 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let api = Self.map(error, request: request)
            if api.status.code >= 500 {
                context.logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            }
            return try api.response(from: request, context: context)
        }
    }

    static func map(_ error: any Error, request: Request) -> APIError {
        switch error {
        case let e as APIError:
            return e
        case let e as BackendError:
            return APIError(e)
        case let e as HTTPError:
            switch e.status {
            case .notFound:
                return APIError(status: .notFound, message: "Invalid URL (\(request.method) \(request.uri.path)).", code: "unknown_url")
            case .methodNotAllowed:
                return APIError(status: .methodNotAllowed, message: "Method \(request.method) is not allowed on \(request.uri.path).")
            case .contentTooLarge:
                return tooLarge
            default:
                return APIError(status: e.status, message: e.body ?? e.status.reasonPhrase,
                                type: e.status.code >= 500 ? "server_error" : "invalid_request_error")
            }
        case let e as any HTTPResponseError where e.status == .contentTooLarge:
            return tooLarge
        case let e as any HTTPResponseError where e.status.code < 500:
            return APIError(status: e.status, message: e.status.reasonPhrase)
        default:
            return APIError(status: .internalServerError, message: "The server had an error while processing your request.",
                            type: "server_error")
        }
    }

    static var tooLarge: APIError {
        APIError(status: .contentTooLarge,
                 message: "The request body is larger than the limit of \(Gateway.maxBodyBytes / (1 << 20)) MB.",
                 code: "request_too_large")
    }
}
