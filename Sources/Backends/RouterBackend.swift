// Several backends behind one: each model is tried on an ordered list of backends, falling back
// to the next when one fails before producing anything. A backend that just failed is tried
// last for a while (`demotion`), so requests do not each wait for a dead remote's timeout.
//
// Fallback happens only before the first event of the answer has been passed on: the router
// waits for the first token (or the first failure) of every backend that has a successor, and
// only then hands the answer to the caller. Once a token has gone out, a failure ends the answer
// with that error: half an answer cannot be taken back, and starting over elsewhere would send
// the client a second, different beginning.

import Synchronization

/// Models matching `pattern` are served by `backends`, tried in this order.
public struct Route: Sendable, Equatable {
    /// A model name, or a prefix ending in `*` (`vllm/*`, `qwen*`); `*` alone matches every model.
    public var pattern: String
    /// Backend names.
    public var backends: [String]

    public init(pattern: String, backends: [String]) {
        self.pattern = pattern
        self.backends = backends
    }

    public func matches(_ model: String) -> Bool {
        pattern.hasSuffix("*") ? model.hasPrefix(pattern.dropLast()) : model == pattern
    }
}

/// A route table that names a backend the router does not have.
public struct RouteError: Error, Equatable, CustomStringConvertible, Sendable {
    public var pattern: String
    public var backend: String
    public var known: [String]

    public var description: String {
        "The route for '\(pattern)' names the backend '\(backend)', which is not configured (backends: \(known.joined(separator: ", ")))."
    }
}

/// Routes requests over named backends with fallback.
public final class RouterBackend: ChatBackend {
    public let backends: [(name: String, backend: any ChatBackend)]
    public let routes: [Route]
    /// How long a backend that failed is tried after the others.
    public let demotion: Duration
    /// When each backend last failed (cleared when it answers).
    private let failedAt = Mutex<[String: ContinuousClock.Instant]>([:])

    /// - Parameters:
    ///   - backends: named backends; a model without a route goes to the first that lists it.
    ///   - routes: checked in order; the first whose pattern matches the model decides.
    ///   - demotion: how long a backend that failed is tried after the others.
    public init(backends: [(name: String, backend: any ChatBackend)], routes: [Route] = [],
                demotion: Duration = .seconds(30)) throws(RouteError) {
        let names = backends.map(\.name)
        for route in routes {
            for name in route.backends where !names.contains(name) {
                throw RouteError(pattern: route.pattern, backend: name, known: names)
            }
        }
        self.backends = backends
        self.routes = routes
        self.demotion = demotion
    }

    public func models() async -> [BackendModel] {
        var seen = Set<String>()
        var all: [BackendModel] = []
        for (_, backend) in backends {
            for model in await backend.models() where seen.insert(model.id).inserted { all.append(model) }
        }
        return all
    }

    public func statistics() async -> [BackendModelStats] {
        var all: [BackendModelStats] = []
        for (_, backend) in backends { all += await backend.statistics() }
        return all
    }

    public func chat(_ request: ChatRequest) async throws -> BackendResponse {
        try await route(request.model) { try await $0.chat(request) }
    }

    public func completion(_ request: CompletionRequest) async throws -> BackendResponse {
        try await route(request.model) { try await $0.completion(request) }
    }

    // MARK: - Routing

    /// The backends to try for `model`, in order, and whether they were chosen because they
    /// serve it (a route, a `NAME/` prefix, or their model list) rather than as a last resort.
    func candidates(for model: String) async -> (backends: [(name: String, backend: any ChatBackend)], known: Bool) {
        if let route = routes.first(where: { $0.matches(model) }) {
            return (route.backends.compactMap { name in backends.first { $0.name == name } }, true)
        }
        if let slash = model.firstIndex(of: "/"), let named = backends.first(where: { $0.name == model[..<slash] }) {
            return ([named], true)
        }
        var listing: [(name: String, backend: any ChatBackend)] = []
        for entry in backends {
            if await entry.backend.models().contains(where: { $0.id == model }) { listing.append(entry) }
        }
        // Unlisted names (a local model's other aliases) are offered to every backend in turn.
        return listing.isEmpty ? (backends, false) : (listing, true)
    }

    /// The candidates with those that failed within `demotion` moved to the end (order kept).
    func healthyFirst(_ candidates: [(name: String, backend: any ChatBackend)]) -> [(name: String, backend: any ChatBackend)] {
        let now = ContinuousClock.now
        let failing = failedAt.withLock { failed in Set(failed.filter { now - $0.value < demotion }.keys) }
        return candidates.filter { !failing.contains($0.name) } + candidates.filter { failing.contains($0.name) }
    }

    /// Whether a failure lets the next backend try: the backend is down, overloaded or broken,
    /// or does not have the model. A request that is wrong for every backend (400) is not retried.
    static func mayFallBack(_ error: BackendError) -> Bool {
        // A grammar dead end says nothing about the backend's health.
        if case .grammarDeadEnd = error { return false }
        return error.httpStatus >= 500 || error.httpStatus == 429 || error.httpStatus == 404
    }

    private func route(_ model: String, start: (any ChatBackend) async throws -> BackendResponse) async throws -> BackendResponse {
        let (listed, known) = await candidates(for: model)
        let candidates = healthyFirst(listed)
        var failures: [(name: String, error: BackendError)] = []
        for (i, candidate) in candidates.enumerated() {
            do {
                let response = try await start(candidate.backend)
                let started = i == candidates.count - 1 ? response : try await response.afterFirstEvent()
                failedAt.withLock { _ = $0.removeValue(forKey: candidate.name) }
                return started
            } catch let error as BackendError where Self.mayFallBack(error) {
                failures.append((candidate.name, error))
                if case .modelNotFound = error { continue }
                failedAt.withLock { $0[candidate.name] = .now }
            }
        }
        let real = failures.filter { if case .modelNotFound = $0.error { false } else { true } }
        if !known || real.isEmpty {
            throw BackendError.modelNotFound(model, available: await models().map(\.id))
        }
        if real.count == 1 { throw real[0].error }
        let summary = real.map { "\($0.name): \($0.error.description)" }.joined(separator: " ")
        let message = "No backend could serve '\(model)'. \(summary)"
        let retries = real.compactMap { if case .busy(_, let s) = $0.error { s } else { nil } }
        if retries.count == real.count { throw BackendError.busy(message, retryAfterSeconds: retries.min() ?? 1) }
        throw BackendError.unavailable(message)
    }
}
