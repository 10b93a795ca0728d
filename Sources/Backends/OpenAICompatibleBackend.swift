// A remote OpenAI-compatible server (vLLM, llama-server, Ollama, another Studio) as a
// ChatBackend. Every request is sent with `stream: true` and the remote's server-sent events are
// turned into backend events as they arrive; the Gateway collects them for clients that did not
// ask for a stream, as it does for the local engine.

import AsyncHTTPClient
import ChatTemplates
import Foundation
import NIOCore
import NIOHTTP1

/// Where a remote server is and how to talk to it.
public struct RemoteConfiguration: Sendable {
    /// The name routes use for this remote, e.g. `vllm`. Requests for `NAME/model` reach it as `model`.
    public var name: String
    /// The remote's OpenAI base URL, ending in `/v1` (e.g. `http://10.0.0.5:8000/v1`).
    public var baseURL: String
    /// Sent as `Authorization: Bearer KEY`.
    public var apiKey: String?
    /// Client-facing names → the remote's names. When empty the remote serves every model it
    /// lists, under the remote's own names.
    public var models: [String: String]
    public var connectTimeout: Duration
    /// The longest the remote may stay silent (before its first byte or between two).
    public var idleTimeout: Duration
    /// The longest one whole answer may take.
    public var requestTimeout: Duration
    /// How long the remote's model list is reused before asking again.
    public var modelListLifetime: Duration

    public init(name: String, baseURL: String, apiKey: String? = nil, models: [String: String] = [:],
                connectTimeout: Duration = .seconds(5), idleTimeout: Duration = .seconds(120),
                requestTimeout: Duration = .seconds(3600), modelListLifetime: Duration = .seconds(10)) {
        self.name = name
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.models = models
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.modelListLifetime = modelListLifetime
    }
}

/// Chat and text completions forwarded to a remote `/v1` server.
public final class OpenAICompatibleBackend: ChatBackend {
    public let configuration: RemoteConfiguration
    private let client: HTTPClient
    private let modelList = RemoteModelList()
    private let created = Int(Date().timeIntervalSince1970)

    public init(_ configuration: RemoteConfiguration) {
        self.configuration = configuration
        var http = HTTPClient.Configuration(
            timeout: .init(connect: TimeAmount(configuration.connectTimeout), read: TimeAmount(configuration.idleTimeout)))
        // A refused connection fails the request at once (so a router can fall back) instead
        // of being retried until the request's deadline.
        http.connectionPool.retryConnectionEstablishment = false
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
    }

    /// Closes the connections; call once before dropping the backend.
    public func shutdown() async {
        try? await client.shutdown()
    }

    // MARK: - ChatBackend

    public func models() async -> [BackendModel] {
        let owner = configuration.name
        if !configuration.models.isEmpty {
            return configuration.models.keys.sorted().map { BackendModel(id: $0, created: created, ownedBy: owner, loaded: true) }
        }
        let ids = await modelList.ids(lifetime: configuration.modelListLifetime) { [self] in try await fetchModelIDs() }
        return ids.map { BackendModel(id: $0, created: created, ownedBy: owner, loaded: true) }
    }

    public func chat(_ request: ChatRequest) async throws -> BackendResponse {
        guard request.n >= 1 else { throw BackendError.invalidRequest("n must be at least 1, got \(request.n).", param: "n") }
        let body = RemoteRequestBody.chat(request, model: try remoteName(request.model))
        let decoder = RemoteChunkDecoder(kind: .chat, choices: request.n, remote: configuration.name)
        return try await start("chat/completions", body: body, model: request.model, decoder: decoder)
    }

    public func completion(_ request: CompletionRequest) async throws -> BackendResponse {
        guard request.n >= 1 else { throw BackendError.invalidRequest("n must be at least 1, got \(request.n).", param: "n") }
        guard !request.prompts.isEmpty else { throw BackendError.invalidRequest("The prompt is empty.", param: "prompt") }
        let body = RemoteRequestBody.completion(request, model: try remoteName(request.model))
        let decoder = RemoteChunkDecoder(kind: .completion, choices: request.n * request.prompts.count, remote: configuration.name)
        return try await start("completions", body: body, model: request.model, decoder: decoder)
    }

    /// A remote has no local figures to report.
    public func statistics() async -> [BackendModelStats] { [] }

    // MARK: - Requests

    /// The remote's name for a client-facing model name.
    func remoteName(_ model: String) throws(BackendError) -> String {
        let prefix = configuration.name + "/"
        let bare = model.hasPrefix(prefix) ? String(model.dropFirst(prefix.count)) : model
        if configuration.models.isEmpty { return bare }
        if let mapped = configuration.models[model] ?? configuration.models[bare] { return mapped }
        throw .modelNotFound(model, available: configuration.models.keys.sorted())
    }

    private func request(_ path: String, method: HTTPMethod) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: configuration.baseURL + "/" + path)
        request.method = method
        if let key = configuration.apiKey, !key.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        return request
    }

    /// Sends the request and returns once the remote has answered with its status: a refusal
    /// throws here; an accepted request streams its events.
    private func start(_ path: String, body: TemplateValue, model: String, decoder: RemoteChunkDecoder) async throws -> BackendResponse {
        var request = request(path, method: .POST)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "text/event-stream")
        request.body = .bytes(ByteBuffer(string: body.jsonString))
        let url = configuration.baseURL
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: TimeAmount(configuration.requestTimeout))
        } catch {
            throw RemoteErrors.transport(error, remote: configuration.name, url: url, idleTimeout: configuration.idleTimeout)
        }
        guard (200..<300).contains(response.status.code) else {
            let text = (try? await response.body.collect(upTo: 1 << 20)).map { String(buffer: $0) } ?? ""
            throw RemoteErrors.status(Int(response.status.code), body: text, retryAfter: response.headers.first(name: "Retry-After"),
                                      remote: configuration.name, model: model)
        }
        let events = Self.events(of: response, decoder: decoder, url: url, configuration: configuration)
        return BackendResponse(model: model, choices: decoder.choices, promptTokens: [], events: events.stream, cancel: events.cancel)
    }

    /// Reads the remote's event stream (or, from a server that ignored `stream`, its one JSON
    /// answer) into backend events. Usage comes last, and only when the remote reported it.
    private static func events(
        of response: HTTPClientResponse, decoder: RemoteChunkDecoder, url: String, configuration: RemoteConfiguration
    ) -> (stream: AsyncThrowingStream<BackendEvent, any Error>, cancel: @Sendable () -> Void) {
        let (stream, continuation) = AsyncThrowingStream<BackendEvent, any Error>.makeStream()
        let remote = configuration.name
        let isJSON = response.headers.first(name: "Content-Type")?.lowercased().hasPrefix("application/json") ?? false
        let task = Task {
            var decoder = decoder
            var parser = ServerSentEventParser()
            var finished = Set<Int>()
            var done = false
            func handle(_ data: String) throws {
                if data == "[DONE]" { done = true; return }
                guard !done else { return }
                for event in try decoder.events(data) {
                    if case .finish(let choice, _) = event { finished.insert(choice) }
                    continuation.yield(event)
                }
            }
            do {
                if isJSON {
                    try handle(String(buffer: try await response.body.collect(upTo: 64 << 20)))
                    done = true
                } else {
                    for try await buffer in response.body {
                        for data in try parser.feed(buffer.readableBytesView) { try handle(data) }
                    }
                    if let data = parser.finish() { try handle(data) }
                }
                // A stream cut before [DONE] is complete only if every choice said why it ended.
                guard done || finished.count == decoder.choices else {
                    throw BackendError.unavailable("The remote '\(remote)' closed the connection before the answer was complete.")
                }
                for event in decoder.unfinishedCalls() { continuation.yield(event) }
                if let usage = decoder.usage { continuation.yield(.usage(usage)) }
                continuation.finish()
            } catch is CancellationError {
                continuation.finish()
            } catch {
                if Task.isCancelled { continuation.finish(); return }
                continuation.finish(throwing: RemoteErrors.transport(error, remote: remote, url: url, idleTimeout: configuration.idleTimeout))
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return (stream, { task.cancel() })
    }

    /// The remote's `/v1/models` ids.
    private func fetchModelIDs() async throws -> [String] {
        let response = try await client.execute(request("models", method: .GET), timeout: TimeAmount(configuration.connectTimeout) + .seconds(5))
        let body = try await response.body.collect(upTo: 8 << 20)
        guard response.status == .ok else {
            throw RemoteErrors.status(Int(response.status.code), body: String(buffer: body), retryAfter: nil, remote: configuration.name, model: "")
        }
        guard case .object(let list) = try TemplateValue(jsonString: String(buffer: body)), case .array(let data)? = list["data"] else {
            throw BackendError.internalError("The remote '\(configuration.name)' answered /v1/models without a 'data' list.")
        }
        return data.compactMap { item in
            if case .object(let o) = item, case .string(let id)? = o["id"] { return id }
            return nil
        }
    }
}

/// The remote's model ids, fetched at most once per lifetime. Only the first call waits for the
/// remote; later ones get the last list at once while an expired one is refreshed in the
/// background, so a slow or unreachable remote never delays routing. A failed fetch keeps the
/// last good list (a remote that is down still names its models, and requests for them fail
/// over) and is not retried before the lifetime has passed.
actor RemoteModelList {
    private var ids: [String] = []
    private var fetchedAt: ContinuousClock.Instant?
    private var refreshing: Task<Void, Never>?

    func ids(lifetime: Duration, fetch: @escaping @Sendable () async throws -> [String]) async -> [String] {
        if let fetchedAt, ContinuousClock.now - fetchedAt < lifetime { return ids }
        let first = fetchedAt == nil
        if refreshing == nil {
            refreshing = Task {
                let fresh = try? await fetch()
                self.store(fresh)
            }
        }
        if first, let refreshing { await refreshing.value }
        return ids
    }

    private func store(_ fresh: [String]?) {
        if let fresh { ids = fresh }
        fetchedAt = .now
        refreshing = nil
    }
}
