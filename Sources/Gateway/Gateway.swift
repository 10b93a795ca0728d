// Studio's HTTP server: an OpenAI-compatible `/v1` API over a ChatBackend, plus `/health` and
// `/metrics`. Build the router (in-process tests use it directly) or a whole application.

import Backends
import ChatTemplates
import Hummingbird

/// The Gateway's entry points.
public enum Gateway {
    /// The largest request body accepted (413 above it).
    public static let maxBodyBytes = 8 << 20
    /// Reported as `system_fingerprint`.
    public static let systemFingerprint = "studio-0.1.0"

    /// The router with every route and middleware. `apiKey`, when set, is required as a bearer
    /// token on `/v1`.
    public static func router(
        backend: any ChatBackend, metrics: GatewayMetrics = GatewayMetrics(), apiKey: String? = nil
    ) -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.get("health") { _, _ in
            OpenAIRoutes<GatewayRequestContext>.json(.object([("status", "ok")]))
        }
        router.get("metrics") { _, _ in
            let text = metrics.render(models: await backend.statistics())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        WebRoutes<GatewayRequestContext>().register(on: router)
        let v1 = router.group("v1")
        if let apiKey, !apiKey.isEmpty { v1.add(middleware: AuthMiddleware(apiKey: apiKey)) }
        OpenAIRoutes(backend: backend, metrics: metrics).register(on: v1)
        return router
    }

    /// The application listening on `host:port`; `onRunning` is called once it accepts
    /// connections.
    public static func application(
        backend: any ChatBackend, host: String, port: Int, apiKey: String? = nil,
        onRunning: @escaping @Sendable () async -> Void = {}
    ) -> some ApplicationProtocol {
        Application(
            router: router(backend: backend, apiKey: apiKey),
            configuration: .init(address: .hostname(host, port: port), serverName: "studio"),
            onServerRunning: { _ in await onRunning() })
    }
}
