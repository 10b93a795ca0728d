import Foundation
import Hummingbird
import HummingbirdTesting
import Store
import Testing

@Suite struct PromptAPITests {
    static var v1: [String: Any] { [
        "system": "You greet {{name}}.", "messages": [["role": "user", "content": "greet {{name}} from {{city}}"]],
        "model": "words", "parameters": ["temperature": 0.1, "max_tokens": 7], "note": "first",
    ] }

    @Test func savesVersionsDiffsAndLabels() async throws {
        let f = try StudioFixture()
        try await f.app().test(.router) { client async throws in
            let saved = try await sendJSON(client, .post, "/api/prompts/greet", Self.v1)
            #expect(saved.status == .created)
            var v2 = Self.v1
            v2["system"] = "You greet {{name}} warmly."
            #expect(try decode(try await sendJSON(client, .post, "/api/prompts/greet", v2))["version"] as? Int == 2)
            let label = try await sendJSON(client, .put, "/api/prompts/greet/labels/production", ["version": 1])
            #expect(try decode(label)["version"] as? Int == 1)
            #expect(try await sendJSON(client, .put, "/api/prompts/greet/labels/production", ["version": 9]).status == .notFound)

            let list = try decode(try await client.execute(uri: "/api/prompts", method: .get))
            let first = try #require((list["data"] as? [[String: Any]])?.first)
            #expect(first["latest_version"] as? Int == 2 && (first["labels"] as? [String: Int]) == ["production": 1])
            let shown = try decode(try await client.execute(uri: "/api/prompts/greet", method: .get))
            let versions = try #require(shown["versions"] as? [[String: Any]])
            #expect(versions.map { $0["variables"] as? [String] } == [["name", "city"], ["name", "city"]])

            let diff = try decode(try await client.execute(uri: "/api/prompts/greet/diff?from=1&to=2", method: .get))
            let lines = try #require(diff["lines"] as? [[String: String]])
            #expect(lines.map { $0["op"]! + $0["text"]! } == [
                "-system: You greet {{name}}.", "+system: You greet {{name}} warmly.", " user: greet {{name}} from {{city}}",
            ])
            #expect(try await sendJSON(client, .post, "/api/prompts/bad%20name", Self.v1).status == .badRequest)
            #expect(try await client.execute(uri: "/api/prompts/none", method: .get).status == .notFound)
        }
    }

    @Test func chatWithAPromptModelRendersAndUsesItsParameters() async throws {
        let f = try StudioFixture()
        let saved = try f.store.prompts.save(name: "greet", try PromptDraft(jsonText: String(
            decoding: try JSONSerialization.data(withJSONObject: Self.v1), as: UTF8.self)))
        try f.store.prompts.setLabel("production", name: "greet", version: saved.version)
        try await f.app().test(.router) { client async throws in
            let chat: [String: Any] = ["model": "prompt:greet@production", "variables": ["name": "Ann", "city": "Oslo"]]
            let r = try await sendJSON(client, .post, "/v1/chat/completions", chat)
            #expect(r.status == .ok)
            let sent = try #require(f.backend.lastChat.withLock { $0 })
            #expect(sent.model == "words")
            #expect(sent.messages.count == 2)
            #expect(sent.messages.last == ["role": "user", "content": "greet Ann from Oslo"])
            #expect(sent.parameters.temperature == 0.1 && sent.parameters.maxTokens == 7)

            var override = chat
            override["temperature"] = 0.8
            override["messages"] = [["role": "user", "content": "and more"]]
            #expect(try await sendJSON(client, .post, "/v1/chat/completions", override).status == .ok)
            let second = try #require(f.backend.lastChat.withLock { $0 })
            #expect(second.parameters.temperature == 0.8 && second.parameters.maxTokens == 7)
            #expect(second.messages.count == 3)

            let missing = try await sendJSON(client, .post, "/v1/chat/completions", ["model": "prompt:greet@1", "variables": ["name": "A"]])
            #expect(missing.status == .badRequest)
            #expect(try errorCode(missing) == "missing_variable")
            #expect(String(buffer: missing.body).contains("'city'"))
            #expect(try await sendJSON(client, .post, "/v1/chat/completions", ["model": "prompt:nope"]).status == .notFound)
        }
        let record = try #require(try f.store.audit.search(AuditQuery(model: "words")).records.last)
        #expect(record.parameters?.contains("greet@1") == true)
    }

    @Test func votesMakeALeaderboard() async throws {
        let f = try StudioFixture()
        try await f.app().test(.router) { client async throws in
            let vote = try await sendJSON(client, .post, "/api/votes", ["prompt": "hi", "left": "a", "right": "b", "winner": "left"])
            #expect(vote.status == .ok)
            #expect(try decode(vote)["id"] as? Int == 1)
            #expect(try await sendJSON(client, .post, "/api/votes", ["left": "a", "right": "b", "winner": "up"]).status == .badRequest)
            let board = try decode(try await client.execute(uri: "/api/leaderboard", method: .get))
            let rows = try #require(board["data"] as? [[String: Any]])
            #expect(rows.map { $0["model"] as? String } == ["a", "b"])
            #expect(rows.first?["elo"] as? Double == 1016 && rows.first?["games"] as? Int == 1)
        }
    }
}
