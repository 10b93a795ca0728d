import Foundation
import Hummingbird
import HummingbirdTesting
import Store
import Testing

@Suite struct KeyAuthTests {
    @Test func openUntilAKeyExistsThenBearerRequired() async throws {
        let f = try StudioFixture()
        try await f.app().test(.router) { client async throws in
            #expect(try await sendJSON(client, .post, "/v1/chat/completions", helloChat).status == .ok)
            let me = try decode(try await client.execute(uri: "/api/me", method: .get))
            #expect(me["auth_required"] as? Bool == false)

            let (_, secret) = try f.store.keys.create(NewKey(name: "chat-key"))
            let none = try await sendJSON(client, .post, "/v1/chat/completions", helloChat)
            #expect(none.status == .unauthorized)
            #expect(try errorCode(none) == "missing_api_key")
            let wrong = try await sendJSON(client, .post, "/v1/chat/completions", helloChat, headers: bearer(KeySecret.generate()))
            #expect(wrong.status == .unauthorized)
            #expect(try errorCode(wrong) == "invalid_api_key")
            #expect(try await client.execute(uri: "/api/prompts", method: .get).status == .unauthorized)
            #expect(try await sendJSON(client, .post, "/v1/chat/completions", helloChat, headers: bearer(secret)).status == .ok)
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)

            let meKeyed = try decode(try await client.execute(uri: "/api/me", method: .get, headers: bearer(secret)))
            #expect(meKeyed["auth_required"] as? Bool == true)
            #expect((meKeyed["key"] as? [String: Any])?["name"] as? String == "chat-key")
        }
    }

    @Test func adminRoutesNeedTheAdminScope() async throws {
        let f = try StudioFixture()
        let (_, chat) = try f.store.keys.create(NewKey(name: "chat"))
        let (_, admin) = try f.store.keys.create(NewKey(name: "admin", scopes: [.admin]))
        try await f.app().test(.router) { client async throws in
            let denied = try await client.execute(uri: "/api/admin/keys", method: .get, headers: bearer(chat))
            #expect(denied.status == .forbidden)
            #expect(try errorCode(denied) == "insufficient_scope")
            let listed = try await client.execute(uri: "/api/admin/keys", method: .get, headers: bearer(admin))
            #expect(listed.status == .ok)
            #expect((try decode(listed)["data"] as? [[String: Any]])?.map { $0["name"] as? String } == ["chat", "admin"])
            #expect(try await client.execute(uri: "/api/prompts", method: .get, headers: bearer(chat)).status == .ok)
        }
    }

    @Test func aRevokedKeyStopsAtOnce() async throws {
        let f = try StudioFixture()
        let (key, secret) = try f.store.keys.create(NewKey(name: "k", scopes: [.admin]))
        try await f.app().test(.router) { client async throws in
            #expect(try await sendJSON(client, .post, "/v1/chat/completions", helloChat, headers: bearer(secret)).status == .ok)
            // Revoked outside the server (as the CLI does), then revoked through the API.
            try f.store.keys.revoke(id: key.id)
            let after = try await sendJSON(client, .post, "/v1/chat/completions", helloChat, headers: bearer(secret))
            #expect(after.status == .unauthorized)

            let (other, otherSecret) = try f.store.keys.create(NewKey(name: "other", scopes: [.admin]))
            let (_, adminSecret) = try f.store.keys.create(NewKey(name: "admin", scopes: [.admin]))
            let revoked = try await client.execute(uri: "/api/admin/keys/\(other.id)", method: .delete, headers: bearer(adminSecret))
            #expect(try decode(revoked)["revoked"] as? Bool == true)
            #expect(try await client.execute(uri: "/api/admin/keys", method: .get, headers: bearer(otherSecret)).status == .unauthorized)
        }
    }

    @Test func overTheRequestLimitIs429WithRetryAfter() async throws {
        let f = try StudioFixture()
        let (_, secret) = try f.store.keys.create(NewKey(name: "slow", rpm: 2))
        try await f.app().test(.router) { client async throws in
            for _ in 0..<2 {
                #expect(try await sendJSON(client, .post, "/v1/chat/completions", helloChat, headers: bearer(secret)).status == .ok)
            }
            let limited = try await sendJSON(client, .post, "/v1/chat/completions", helloChat, headers: bearer(secret))
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] == "30")
            let error = try #require(try decode(limited)["error"] as? [String: Any])
            #expect(error["type"] as? String == "rate_limit_exceeded")
        }
    }

    @Test func overTheTokenBudgetIs429AfterTheResponse() async throws {
        let f = try StudioFixture()
        let (_, secret) = try f.store.keys.create(NewKey(name: "small", tpm: 4))
        try await f.app().test(.router) { client async throws in
            // 3 prompt + 3 completion tokens: admitted while the budget is positive, then charged.
            #expect(try await sendJSON(client, .post, "/v1/chat/completions", helloChat, headers: bearer(secret)).status == .ok)
            let limited = try await sendJSON(client, .post, "/v1/chat/completions", helloChat, headers: bearer(secret))
            #expect(limited.status == .tooManyRequests)
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
        }
    }

    @Test func theApiKeyOptionStillWorksAndCoversApi() async throws {
        let f = try StudioFixture()
        try await f.app(apiKey: "sk-legacy").test(.router) { client async throws in
            #expect(try await sendJSON(client, .post, "/v1/chat/completions", helloChat).status == .unauthorized)
            #expect(try await sendJSON(client, .post, "/v1/chat/completions", helloChat, headers: bearer("sk-legacy")).status == .ok)
            #expect(try await client.execute(uri: "/api/admin/keys", method: .get, headers: bearer("sk-legacy")).status == .ok)
            #expect(try await client.execute(uri: "/api/admin/keys", method: .get).status == .unauthorized)
        }
    }
}
