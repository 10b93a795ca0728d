// Studio's HTTP server: an OpenAI-compatible `/v1` API over a ChatBackend, plus `/health` and
// `/metrics`. Build the router (in-process tests use it directly) or a whole application.

import Backends
import ChatTemplates
import Hummingbird
import Store

/// The Gateway's entry points.
public enum Gateway {
    /// The largest request body accepted (413 above it).
    public static let maxBodyBytes = 8 << 20
    /// Reported as `system_fingerprint`.
    public static let systemFingerprint = "studio-0.1.0"

    /// The router with every route and middleware. `apiKey`, when set, is required as a bearer
    /// token on `/v1` and `/api`. `studio` adds the store's features: keys (required once one
    /// exists) with rate limits, the audit log, `prompt:` models and the `/api` routes.
    public static func router(
        backend: any ChatBackend, metrics: GatewayMetrics = GatewayMetrics(), apiKey: String? = nil,
        studio: StudioServices? = nil
    ) -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        let legacyKey = apiKey.flatMap { $0.isEmpty ? nil : $0 }
        let limiter = studio.map { RateLimiter(clock: $0.clock) } ?? RateLimiter()
        let redactor = studio?.redact == true ? Redactor() : nil
        let backend: any ChatBackend = studio.map {
            AuditingBackend(base: backend, audit: $0.store.audit, redactor: redactor, limiter: limiter)
        } ?? backend
        if let studio { router.add(middleware: AuditMiddleware(audit: studio.store.audit, redactor: redactor)) }
        if legacyKey != nil || studio != nil {
            router.add(middleware: KeyAuthMiddleware(keys: studio?.store.keys, legacyKey: legacyKey, limiter: limiter))
        }
        if let studio { router.add(middleware: PromptMiddleware(prompts: studio.store.prompts)) }
        router.get("health") { _, _ in
            OpenAIRoutes<GatewayRequestContext>.json(.object([("status", "ok")]))
        }
        router.get("metrics") { _, _ in
            let text = metrics.render(models: await backend.statistics())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        WebRoutes<GatewayRequestContext>().register(on: router)
        OpenAIRoutes(backend: backend, metrics: metrics).register(on: router.group("v1"))
        if let studio { StudioAPIRoutes(backend: backend, services: studio, legacyKey: legacyKey != nil).register(on: router) }
        return router
    }

    /// The application listening on `host:port`; `onRunning` is called once it accepts
    /// connections.
    public static func application(
        backend: any ChatBackend, host: String, port: Int, apiKey: String? = nil, studio: StudioServices? = nil,
        onRunning: @escaping @Sendable () async -> Void = {}
    ) -> some ApplicationProtocol {
        Application(
            router: router(backend: backend, apiKey: apiKey, studio: studio),
            configuration: .init(address: .hostname(host, port: port), serverName: "studio"),
            onServerRunning: { _ in await onRunning() })
    }
}
