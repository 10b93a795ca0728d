import Backends
import Foundation
import Gateway
import Hummingbird
import HummingbirdTesting
import ModelHub
import Store
import Testing

/// `/v1/completions` with `echo` on a real local model, as OpenAI's legacy completions answer it.
@Suite(.serialized) struct EchoAPITests {
    static let prompt = "The capital of France is"

    static func ask(_ extra: [String: Any]) -> [String: Any] {
        ["model": "smol", "prompt": prompt, "temperature": 0, "max_tokens": 3, "echo": true].merging(extra) { $1 }
    }

    static func choice(_ body: [String: Any]) throws -> [String: Any] {
        try #require((body["choices"] as? [[String: Any]])?.first)
    }

    @Test func echoRepeatsThePromptWithItsLogprobsStreamedOrNot() async throws {
        let path = try GrammarDeadEndTests.smolPath()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("echo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try Store.open(path: folder.appendingPathComponent("studio.sqlite").path)
        let services = StudioServices(store: store, home: StudioHome(root: folder), redact: false, clock: { 0 })
        let backend = LocalBackend(models: [.file(id: "smol", path: path, threads: 2)],
                                   options: .init(slots: 2, contextLength: 256, keepAlive: nil))
        try await Application(router: Gateway.router(backend: backend, apiKey: nil, studio: services)).test(.router) { client in
            // Without logprobs: the prompt, then the completion.
            let plain = try Self.choice(try decode(try await sendJSON(client, .post, "/v1/completions", Self.ask([:]))))
            let text = try #require(plain["text"] as? String)
            #expect(text.hasPrefix(Self.prompt) && text.count > Self.prompt.count)
            #expect(plain["logprobs"] is NSNull)

            // With logprobs: an entry per prompt token too, the first one without a score.
            let body = try decode(try await sendJSON(client, .post, "/v1/completions", Self.ask(["logprobs": 2])))
            let scored = try Self.choice(body)
            #expect(scored["text"] as? String == text)
            let lp = try #require(scored["logprobs"] as? [String: Any])
            let tokens = try #require(lp["tokens"] as? [String])
            let promptTokens = try #require((body["usage"] as? [String: Any])?["prompt_tokens"] as? Int)
            #expect(tokens.count == promptTokens + 3)
            #expect(tokens.joined() == text)
            let values = try #require(lp["token_logprobs"] as? [Any])
            let tops = try #require(lp["top_logprobs"] as? [Any])
            #expect(values.first is NSNull && tops.first is NSNull)
            #expect(values.dropFirst().allSatisfy { ($0 as? Double).map { $0 <= 0 } == true })
            #expect(tops.dropFirst().allSatisfy { ($0 as? [String: Any])?.count == 2 })
            let offsets = try #require(lp["text_offset"] as? [Int])
            var expected: [Int] = []
            var at = 0
            for t in tokens {
                expected.append(at)
                at += t.count
            }
            #expect(offsets == expected)

            // Streamed: the prompt and its entries in the first chunk, then the same completion.
            let r = try await sendJSON(client, .post, "/v1/completions", Self.ask(["logprobs": 2, "stream": true]))
            let payloads = String(buffer: r.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { String($0.dropFirst(6)) }
            #expect(payloads.last == "[DONE]")
            let chunks = try payloads.dropLast().map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            let choices = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first }
            #expect(choices.first?["text"] as? String == Self.prompt)
            let first = try #require(choices.first?["logprobs"] as? [String: Any])
            #expect((first["tokens"] as? [String])?.count == promptTokens)
            #expect((first["token_logprobs"] as? [Any])?.first is NSNull)
            #expect(choices.compactMap { $0["text"] as? String }.joined() == text)
            let streamedTokens = choices.compactMap { ($0["logprobs"] as? [String: Any])?["tokens"] as? [String] }.flatMap { $0 }
            #expect(streamedTokens == tokens)
            let streamedOffsets = choices.compactMap { ($0["logprobs"] as? [String: Any])?["text_offset"] as? [Int] }.flatMap { $0 }
            #expect(streamedOffsets == offsets)

            // max_tokens 0 scores the prompt alone; without echo it is still refused.
            let alone = try Self.choice(try decode(try await sendJSON(client, .post, "/v1/completions",
                                                                      Self.ask(["logprobs": 0, "max_tokens": 0]))))
            #expect(alone["text"] as? String == Self.prompt)
            #expect(alone["finish_reason"] as? String == "length")
            #expect(((alone["logprobs"] as? [String: Any])?["tokens"] as? [String])?.count == promptTokens)
            #expect(((alone["logprobs"] as? [String: Any])?["token_logprobs"] as? [Any])?.dropFirst().map { $0 as? Double }
                    == (values.prefix(promptTokens).dropFirst().map { $0 as? Double }))
            let refused = try await sendJSON(client, .post, "/v1/completions", Self.ask(["max_tokens": 0, "echo": false]))
            #expect(refused.status == .badRequest)
        }
        await backend.shutdown()
    }
}
