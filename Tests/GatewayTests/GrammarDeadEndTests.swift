import Backends
import Foundation
import Gateway
import Hummingbird
import HummingbirdTesting
import Inference
import ModelHub
import Store
import Testing

/// A grammar that provably dead-ends, on a real model through the whole server: "Hello" fits,
/// then the grammar needs a character from an empty class (every code point excluded), which no
/// token of any vocabulary can give.
@Suite(.serialized) struct GrammarDeadEndTests {
    static let deadEnd = #"root ::= "Hello" [^\x00-\U0010FFFF]"#

    /// SmolLM2-135M from the model cache (a failure saying how to get it when it is missing).
    static func smolPath() throws -> String {
        let env = ProcessInfo.processInfo.environment
        let path = (env["STUDIO_HOME"] ?? (NSHomeDirectory() + "/.cache/studio")) + "/models/smollm2-135m.gguf"
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("\(path) is missing: run `studio pull smollm2:135m` first.")
            throw CancellationError()
        }
        return path
    }

    static func chat(grammar: String, stream: Bool = false) -> [String: Any] {
        ["model": "smol", "messages": [["role": "user", "content": "Say hello."]], "grammar": grammar, "temperature": 0,
         "max_tokens": 20, "stream": stream]
    }

    @Test func aDeadEndIsAnErrorStreamedOrNotAndIsAuditedAsOne() async throws {
        let path = try Self.smolPath()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dead-end-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try Store.open(path: folder.appendingPathComponent("studio.sqlite").path)
        let services = StudioServices(store: store, home: StudioHome(root: folder), redact: false, clock: { 0 })
        let backend = LocalBackend(models: [.file(id: "smol", path: path, threads: 2)],
                                   options: .init(slots: 1, contextLength: 512, keepAlive: nil))
        try await Application(router: Gateway.router(backend: backend, apiKey: nil, studio: services)).test(.router) { client in
            // Not streamed: an error status, not a 200 with finish_reason "stop" and invalid text.
            let plain = try await sendJSON(client, .post, "/v1/chat/completions", Self.chat(grammar: Self.deadEnd))
            #expect(plain.status == .internalServerError)
            let error = try #require(try decode(plain)["error"] as? [String: Any])
            #expect(error["type"] as? String == "server_error")
            #expect(error["code"] as? String == "grammar_dead_end")
            #expect(error["param"] as? String == "grammar")
            #expect((error["message"] as? String)?.hasPrefix("The model could not continue within the 'grammar'") == true)

            // Streamed: what fitted, then an error event and [DONE]; no choice says it finished.
            let streamed = try await sendJSON(client, .post, "/v1/chat/completions", Self.chat(grammar: Self.deadEnd, stream: true))
            #expect(streamed.status == .ok)
            let payloads = String(buffer: streamed.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { String($0.dropFirst(6)) }
            #expect(payloads.last == "[DONE]")
            let objects = try payloads.dropLast().map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            let text = objects.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }
            #expect(text.joined() == "Hello")
            #expect(!objects.contains { (($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String) != nil })
            #expect((objects.last?["error"] as? [String: Any])?["code"] as? String == "grammar_dead_end")

            // A grammar that can end still answers 200 with "stop" (its status waited for the end).
            let fine = try await sendJSON(client, .post, "/v1/chat/completions", Self.chat(grammar: #"root ::= "Hello""#))
            #expect(fine.status == .ok)
            let choice = try #require((try decode(fine)["choices"] as? [[String: Any]])?.first)
            #expect((choice["message"] as? [String: Any])?["content"] as? String == "Hello")
            #expect(choice["finish_reason"] as? String == "stop")
        }
        await backend.shutdown()
        let (records, _) = try store.audit.search(AuditQuery())
        #expect(records.map(\.status) == [200, 500, 500])
        #expect(records.dropFirst().allSatisfy { $0.error?.contains("could not continue") == true })
    }
}
