import Hummingbird

/// Requires `Authorization: Bearer <key>` when the server was started with an API key; answers
/// 401 in OpenAI's shape otherwise. The key itself is never logged.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let apiKey: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw APIError(status: .unauthorized,
                           message: "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'.",
                           code: "missing_api_key")
        }
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), Self.equal(String(header.dropFirst(prefix.count)), apiKey) else {
            throw APIError(status: .unauthorized, message: "Incorrect API key provided.", code: "invalid_api_key")
        }
        return try await next(request, context)
    }

    /// Compares without stopping at the first difference.
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = x.count ^ y.count
        for i in 0..<max(x.count, y.count) {
            diff |= Int((i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0))
        }
        return diff == 0
    }
}
