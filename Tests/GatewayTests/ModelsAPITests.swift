import Foundation
import Hummingbird
import HummingbirdTesting
import ModelFormats
import Testing

@Suite struct ModelsAPITests {
    /// The `data:` payloads of an SSE body, parsed.
    func events(_ response: TestResponse) throws -> [[String: Any]] {
        try String(buffer: response.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { chunk in
            #expect(chunk.hasPrefix("data: "))
            return try #require(try JSONSerialization.jsonObject(with: Data(chunk.dropFirst(6).utf8)) as? [String: Any])
        }
    }

    @Test func modelsListInstalledServedAndCatalog() async throws {
        let f = try StudioFixture()
        try await f.app().test(.router) { client async throws in
            let models = try decode(try await client.execute(uri: "/api/models", method: .get))
            let rows = try #require(models["data"] as? [[String: Any]])
            let words = try #require(rows.first { $0["id"] as? String == "words" })
            #expect(words["loaded"] as? Bool == true && words["installed"] as? Bool == true)
            #expect(rows.contains { $0["id"] as? String == "smollm2:135m" && $0["installed"] as? Bool == false })
        }
    }

    @Test func pullStreamsProgressThenDoneAndTheModelIsListed() async throws {
        let f = try StudioFixture()
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        try w.addTensor("token_embd.weight", shape: [256, 1024], floats: (0..<262_144).map { Float($0 % 977) / 977 })
        let source = f.folder.appendingPathComponent("Tiny-Model.gguf")
        try Data(w.encoded()).write(to: source)
        try await f.app().test(.router) { client async throws in
            let r = try await sendJSON(client, .post, "/api/admin/models/pull", ["model": source.path])
            #expect(r.status == .ok && r.headers[.contentType] == "text/event-stream")
            let all = try events(r)
            #expect(all.first?["phase"] as? String == "trying")
            #expect(all.contains { $0["phase"] as? String == "downloading" && ($0["bytes"] as? Int ?? 0) > 0 })
            #expect(all.last?["done"] as? Bool == true && all.last?["model"] as? String == "tiny-model")

            let models = try decode(try await client.execute(uri: "/api/models", method: .get))
            let tiny = try #require((models["data"] as? [[String: Any]])?.first { $0["id"] as? String == "tiny-model" })
            #expect(tiny["installed"] as? Bool == true && (tiny["size_bytes"] as? Int ?? 0) > 1_000_000)

            let failed = try events(try await sendJSON(client, .post, "/api/admin/models/pull", ["model": "/no/such/file.gguf"]))
            #expect((failed.last?["error"] as? String)?.contains("file.gguf") == true)
            #expect(try await sendJSON(client, .post, "/api/admin/models/pull", [:]).status == .badRequest)
        }
    }
}
