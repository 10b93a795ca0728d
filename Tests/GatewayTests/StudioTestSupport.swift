import Backends
import ChatTemplates
import Foundation
import Gateway
import Hummingbird
import HummingbirdTesting
import Inference
import ModelHub
import Store
import Synchronization
import Testing

/// Streams the words of the last message back, one token each ("fail" fails before any output,
/// "hang" sends one word and waits until cancelled), and remembers the last chat request so tests can see what a `prompt:` model
/// was turned into.
final class WordsBackend: ChatBackend {
    let lastChat = Mutex<ChatRequest?>(nil)

    func models() async -> [BackendModel] { [BackendModel(id: "words", created: 1_700_000_000, loaded: true)] }
    func statistics() async -> [BackendModelStats] { [] }

    func chat(_ request: ChatRequest) async throws -> BackendResponse {
        lastChat.withLock { $0 = request }
        guard request.model == "words" else { throw BackendError.modelNotFound(request.model, available: ["words"]) }
        guard case .object(let last)? = request.messages.last, case .string(let text)? = last["content"] else {
            throw BackendError.invalidRequest("no text", param: "messages")
        }
        if text == "hang" {
            let (stream, c) = AsyncThrowingStream<BackendEvent, any Error>.makeStream()
            c.yield(.text(choice: 0, text: "waiting", logprobs: nil, tokens: 1))
            return BackendResponse(model: request.model, choices: 1, promptTokens: [1], events: stream, cancel: { c.finish() })
        }
        if text == "fail" {
            let (stream, c) = AsyncThrowingStream<BackendEvent, any Error>.makeStream()
            c.finish(throwing: BackendError.internalError("the model broke"))
            return BackendResponse(model: request.model, choices: 1, promptTokens: [1], events: stream)
        }
        return Self.respond(text, model: request.model)
    }

    func completion(_ request: CompletionRequest) async throws -> BackendResponse {
        guard case .text(let text)? = request.prompts.first else { throw BackendError.invalidRequest("no text", param: "prompt") }
        return Self.respond(text, model: request.model)
    }

    static func respond(_ text: String, model: String) -> BackendResponse {
        let words = text.split(separator: " ").map(String.init)
        let (stream, c) = AsyncThrowingStream<BackendEvent, any Error>.makeStream()
        for (i, w) in words.enumerated() { c.yield(.text(choice: 0, text: (i == 0 ? "" : " ") + w, logprobs: nil, tokens: 1)) }
        c.yield(.finish(choice: 0, reason: .stop))
        c.yield(.usage(BackendUsage(promptTokens: words.count, completionTokens: words.count)))
        c.finish()
        return BackendResponse(model: model, choices: 1, promptTokens: [words.count], events: stream)
    }
}

/// A server over WordsBackend with a store in a fresh temporary folder.
final class StudioFixture: Sendable {
    let folder: URL
    let store: Store
    let backend = WordsBackend()
    let services: StudioServices

    init(redact: Bool = false) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-studio-\(UUID().uuidString)")
        store = try Store.open(path: folder.appendingPathComponent("studio.sqlite").path)
        // The rate limits' clock stands still, so no bucket refills while a test runs, however
        // slowly a loaded machine runs it.
        services = StudioServices(store: store, home: StudioHome(root: folder), redact: redact, clock: { 0 })
    }

    func app(apiKey: String? = nil) -> some ApplicationProtocol {
        Application(router: Gateway.router(backend: backend, apiKey: apiKey, studio: services))
    }

    deinit { try? FileManager.default.removeItem(at: folder) }
}

func bearer(_ secret: String) -> HTTPFields { [.authorization: "Bearer \(secret)"] }

func sendJSON(_ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, _ object: [String: Any],
              headers: HTTPFields = [:]) async throws -> TestResponse {
    var h = headers
    h[.contentType] = "application/json"
    return try await client.execute(uri: uri, method: method, headers: h,
                                    body: ByteBuffer(data: try JSONSerialization.data(withJSONObject: object)))
}

func decode(_ response: TestResponse) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8))
    return try #require(object as? [String: Any])
}

func errorCode(_ response: TestResponse) throws -> String? {
    (try decode(response)["error"] as? [String: Any])?["code"] as? String
}

var helloChat: [String: Any] { ["model": "words", "messages": [["role": "user", "content": "hello there world"]]] }
