import Backends
import Foundation
import Hummingbird
import HummingbirdTesting
import Store
import Synchronization
import Testing
@testable import Gateway

@Suite struct AuditLogTests {
    @Test func recordsGenerationsAndRefusals() async throws {
        let f = try StudioFixture()
        try await f.app().test(.router) { client async throws in
            #expect(try await sendJSON(client, .post, "/v1/chat/completions", helloChat).status == .ok)
            var streamed = helloChat
            streamed["stream"] = true
            streamed["temperature"] = 0
            let s = try await sendJSON(client, .post, "/v1/chat/completions", streamed)
            #expect(String(buffer: s.body).hasSuffix("data: [DONE]\n\n"))
            var unknown = helloChat
            unknown["model"] = "nope"
            #expect(try await sendJSON(client, .post, "/v1/chat/completions", unknown).status == .notFound)
            _ = try f.store.keys.create(NewKey(name: "k"))
            #expect(try await sendJSON(client, .post, "/v1/chat/completions", helloChat).status == .unauthorized)
        }
        let (records, total) = try f.store.audit.search(AuditQuery())
        #expect(total == 4)
        #expect(records.map(\.status) == [401, 404, 200, 200])
        let stream = records[2], plain = records[3]
        #expect(stream.stream && !plain.stream)
        #expect(stream.response == "hello there world" && plain.response == "hello there world")
        #expect(stream.promptTokens == 3 && stream.completionTokens == 3)
        #expect(stream.ttftMs != nil && stream.latencyMs != nil)
        #expect(stream.preview == "hello there world")
        #expect(stream.parameters?.contains("\"temperature\": 0") == true)
        #expect(records[1].model == "nope" && records[1].error?.contains("nope") == true)
        #expect(records[0].keyID == nil && records[0].endpoint == "/v1/chat/completions")
    }

    @Test func recordsTheKeyAndServesTheLogOverTheAPI() async throws {
        let f = try StudioFixture()
        let (key, secret) = try f.store.keys.create(NewKey(name: "admin", scopes: [.admin]))
        try await f.app().test(.router) { client async throws in
            let r = try await sendJSON(client, .post, "/v1/chat/completions", helloChat, headers: bearer(secret))
            #expect(r.status == .ok)
            let requestID = try #require(r.headers[.init("X-Request-Id")!])
            let list = try decode(try await client.execute(uri: "/api/admin/logs?model=words&limit=5", method: .get, headers: bearer(secret)))
            let rows = try #require(list["data"] as? [[String: Any]])
            #expect(list["total"] as? Int == 1 && rows.first?["key_name"] as? String == "admin")
            let id = try #require(rows.first?["id"] as? Int)
            let one = try decode(try await client.execute(uri: "/api/admin/logs/\(id)", method: .get, headers: bearer(secret)))
            #expect(one["response"] as? String == "hello there world" && one["request_id"] as? String == requestID)
            #expect((one["request"] as? [[String: Any]])?.first?["content"] as? String == "hello there world")
            let bad = try await client.execute(uri: "/api/admin/logs?since=yesterday", method: .get, headers: bearer(secret))
            #expect(bad.status == .badRequest)
        }
        #expect(try f.store.audit.search(AuditQuery(key: String(key.id))).total >= 1)
    }

    @Test func redactsBeforeStoring() async throws {
        let f = try StudioFixture(redact: true)
        try await f.app().test(.router) { client async throws in
            let chat: [String: Any] = ["model": "words", "messages": [["role": "user", "content": "mail jane@example.com card 4111 1111 1111 1111"]]]
            #expect(try await sendJSON(client, .post, "/v1/chat/completions", chat).status == .ok)
        }
        let r = try #require(try f.store.audit.search(AuditQuery()).records.first)
        #expect(r.request?.contains("jane@example.com") == false && r.request?.contains("[EMAIL]") == true)
        #expect(r.response == "mail [EMAIL] card [CARD]")
    }

    @Test func recordsTextCompletions() async throws {
        let f = try StudioFixture()
        try await f.app().test(.router) { client async throws in
            let r = try await sendJSON(client, .post, "/v1/completions", ["model": "words", "prompt": "one two", "max_tokens": 5])
            #expect(r.status == .ok)
        }
        let record = try #require(try f.store.audit.search(AuditQuery()).records.first)
        #expect(record.endpoint == "/v1/completions" && record.preview == "one two" && record.response == "one two")
        #expect(record.parameters?.contains("\"max_tokens\": 5") == true)
    }

    @Test func aGenerationThatFailsIsRecordedOnceWithItsError() async throws {
        let f = try StudioFixture()
        try await f.app().test(.router) { client async throws in
            let fail: [String: Any] = ["model": "words", "messages": [["role": "user", "content": "fail"]]]
            _ = try await sendJSON(client, .post, "/v1/chat/completions", fail)
        }
        let (records, total) = try f.store.audit.search(AuditQuery())
        #expect(total == 1)
        #expect(records.first?.status == 500 && records.first?.error?.contains("the model broke") == true)
    }

    @Test func aClientThatLeavesIsRecordedWithWhatItGot() async throws {
        let f = try StudioFixture()
        let audited = AuditingBackend(base: f.backend, audit: f.store.audit, redactor: nil, limiter: nil)
        let trace = RequestTrace(method: "POST", path: "/v1/chat/completions")
        let response = try await RequestTrace.$current.withValue(trace) {
            try await audited.chat(ChatRequest(model: "words", messages: [["role": "user", "content": "hang"]], parameters: .init()))
        }
        var events = response.events.makeAsyncIterator()
        #expect(try await events.next() == .text(choice: 0, text: "waiting", logprobs: nil, tokens: 1))
        response.cancel()
        #expect(try await events.next() == nil)
        // The pump writes the record before it ends the stream.
        let record = try f.store.audit.search(AuditQuery()).records.first
        #expect(record?.status == 499 && record?.response == "waiting" && record?.error != nil)
    }

    /// The record must exist before the client can see the end of the response.
    @Test func theRecordIsWrittenBeforeTheUsageEventIsPassedOn() async throws {
        let f = try StudioFixture()
        let audited = AuditingBackend(base: f.backend, audit: f.store.audit, redactor: nil, limiter: nil)
        let trace = RequestTrace(method: "POST", path: "/v1/chat/completions")
        let response = try await RequestTrace.$current.withValue(trace) {
            try await audited.chat(ChatRequest(model: "words", messages: [["role": "user", "content": "one two"]], parameters: .init()))
        }
        var countAtUsage: Int?
        for try await event in response.events {
            if case .usage = event { countAtUsage = try f.store.audit.search(AuditQuery()).total }
        }
        #expect(countAtUsage == 1)
        #expect(try f.store.audit.search(AuditQuery()).records.first?.response == "one two")
    }
}
