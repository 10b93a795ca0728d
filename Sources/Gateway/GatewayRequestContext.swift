import Hummingbird

/// The request context of Studio's HTTP server: Hummingbird's core storage plus the body limit
/// the Gateway enforces (413 above it).
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Bytes a request body may have.
    public var maxUploadSize: Int { Gateway.maxBodyBytes }

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}
