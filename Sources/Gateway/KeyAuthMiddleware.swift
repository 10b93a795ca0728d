import Hummingbird
import Store

/// Bearer-key authentication for `/v1` and `/api`. Once any key exists in the store (or the
/// server was started with `--api-key`), those routes need `Authorization: Bearer <secret>`
/// (401 otherwise), `/api/admin` needs the admin scope (403), and each key's rate limits apply
/// (429). The store is asked on every request, so a key revoked by another process (the CLI)
/// stops working at once. `/api/me` never fails here: it reports who the caller is, if anyone.
struct KeyAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: (any KeyRepository)?
    /// The `--api-key` of earlier versions: a key with every scope and no limits.
    let legacyKey: String?
    let limiter: RateLimiter

    static func isProtected(_ path: String) -> Bool {
        path == "/v1" || path.hasPrefix("/v1/") || (path.hasPrefix("/api/") && path != "/api/me")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == "/api/me" {
            RequestTrace.current?.key = try? authenticate(request)
            return try await next(request, context)
        }
        guard Self.isProtected(path), try authRequired() else { return try await next(request, context) }
        let key = try authenticate(request)
        if path.hasPrefix("/api/admin/") || path == "/api/admin", !key.allows(.admin) {
            throw APIError(status: .forbidden, message: "The key '\(key.name)' lacks the admin scope needed for \(path).",
                           type: "permission_error", code: "insufficient_scope")
        }
        try limiter.admit(key)
        RequestTrace.current?.key = key
        if key.id != 0, key.lastUsed.map({ $0.timeIntervalSinceNow < -10 }) ?? true {
            try? keys?.touch(id: key.id, at: .now)
        }
        return try await next(request, context)
    }

    func authRequired() throws(APIError) -> Bool {
        if legacyKey != nil { return true }
        guard let keys else { return false }
        do { return try keys.anyKeyExists() } catch { throw Self.storeFailed(error) }
    }

    /// The key the request's bearer token names; throws 401 when there is none or it is unknown.
    func authenticate(_ request: Request) throws(APIError) -> APIKey {
        guard let header = request.headers[.authorization] else {
            throw APIError(status: .unauthorized,
                           message: "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'.",
                           code: "missing_api_key")
        }
        let prefix = "Bearer "
        let secret = header.hasPrefix(prefix) ? String(header.dropFirst(prefix.count)) : ""
        if let legacyKey, KeySecret.constantTimeEqual(Array(secret.utf8), Array(legacyKey.utf8)) {
            return APIKey(id: 0, name: "api-key option", prefix: "", scopes: [.chat, .admin], rpm: nil, tpm: nil, created: .now)
        }
        let found: APIKey?
        do { found = try keys?.authenticate(secret: secret) } catch { throw Self.storeFailed(error) }
        guard let found else {
            throw APIError(status: .unauthorized, message: "Incorrect API key provided (or it was revoked).", code: "invalid_api_key")
        }
        return found
    }

    static func storeFailed(_ error: StoreError) -> APIError {
        APIError(status: .serviceUnavailable, message: "The key store could not be read: \(error)", type: "server_error",
                 code: "store_unavailable")
    }
}
