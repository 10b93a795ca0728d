import Hummingbird

/// Counts every request by route and status code for `/metrics`. A streamed response counts
/// with the status it started with; its duration is recorded by the route when the stream ends.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: GatewayMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = context.endpointPath ?? "unmatched"
        do {
            let response = try await next(request, context)
            metrics.request(path: path, status: Int(response.status.code))
            return response
        } catch {
            let status = ErrorMiddleware<Context>.map(error, request: request).status
            metrics.request(path: path, status: Int(status.code))
            throw error
        }
    }
}
