import Backends
import Foundation
import Gateway
import Hummingbird
import HummingbirdTesting
import ModelHub
import Store
import Testing

/// Answers as a remote engine may give them: reasoning apart from the content, and no usage.
private struct ReasoningRemoteBackend: ChatBackend {
    func models() async -> [BackendModel] { [BackendModel(id: "thinker", created: 1_700_000_000, ownedBy: "vllm", loaded: true)] }
    func statistics() async -> [BackendModelStats] { [] }

    func chat(_ request: ChatRequest) async throws -> BackendResponse {
        let (stream, c) = AsyncThrowingStream<BackendEvent, any Error>.makeStream()
        c.yield(.reasoning(choice: 0, text: "Two plus"))
        c.yield(.reasoning(choice: 0, text: " two."))
        c.yield(.text(choice: 0, text: "4", logprobs: nil, tokens: 1))
        c.yield(.finish(choice: 0, reason: .stop))
        c.finish()
        return BackendResponse(model: request.model, choices: 1, promptTokens: [], events: stream)
    }

    func completion(_ request: CompletionRequest) async throws -> BackendResponse {
        let (stream, c) = AsyncThrowingStream<BackendEvent, any Error>.makeStream()
        c.yield(.text(choice: 0, text: "done", logprobs: nil, tokens: 1))
        c.yield(.finish(choice: 0, reason: .stop))
        c.finish()
        return BackendResponse(model: request.model, choices: 1, promptTokens: [], events: stream)
    }
}

@Suite struct RemoteAnswerShapeTests {
    static var ask: [String: Any] { ["model": "thinker", "messages": [["role": "user", "content": "2+2?"]]] }

    /// Usage the remote did not report is left out of the body (not 0/0) and stays NULL in the
    /// audit log; reasoning_content reaches the message and the stream's deltas.
    @Test func unknownUsageIsOmittedAndReasoningIsPassedOn() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("remote-shape-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try Store.open(path: folder.appendingPathComponent("studio.sqlite").path)
        let services = StudioServices(store: store, home: StudioHome(root: folder), redact: false, clock: { 0 })
        try await Application(router: Gateway.router(backend: ReasoningRemoteBackend(), apiKey: nil, studio: services)).test(.router) { client in
            let whole = try decode(try await sendJSON(client, .post, "/v1/chat/completions", Self.ask))
            #expect(whole["usage"] == nil)
            let message = try #require(((whole["choices"] as? [[String: Any]])?.first)?["message"] as? [String: Any])
            #expect(message["content"] as? String == "4")
            #expect(message["reasoning_content"] as? String == "Two plus two.")

            let text = try decode(try await sendJSON(client, .post, "/v1/completions", ["model": "thinker", "prompt": "x"]))
            #expect(text["usage"] == nil)
            #expect(((text["choices"] as? [[String: Any]])?.first)?["text"] as? String == "done")

            var streamed = Self.ask
            streamed["stream"] = true
            streamed["stream_options"] = ["include_usage": true]
            let r = try await sendJSON(client, .post, "/v1/chat/completions", streamed)
            let payloads = String(buffer: r.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { String($0.dropFirst(6)) }
            let chunks = try payloads.dropLast().map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            let deltas = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any] }
            #expect(deltas.compactMap { $0["reasoning_content"] as? String } == ["Two plus", " two."])
            #expect(deltas.compactMap { $0["content"] as? String }.joined() == "4")
            // No usage chunk: every chunk has a choice and "usage": null.
            #expect(chunks.allSatisfy { $0["usage"] is NSNull })
        }
        let (records, total) = try store.audit.search(AuditQuery())
        #expect(total == 3)
        #expect(records.allSatisfy { $0.status == 200 && $0.promptTokens == nil && $0.completionTokens == nil })
        // The reasoning is recorded apart from the response (newest first: streamed chat, completion, chat).
        #expect(records.map(\.reasoning) == ["Two plus two.", nil, "Two plus two."])
        #expect(records.map(\.response) == ["4", "done", "4"])
    }
}
