import Foundation
import Testing
@testable import Store

@Suite struct KeyTests {
    @Test func secretsHaveTheMarkerAndAreUnique() {
        let a = KeySecret.generate(), b = KeySecret.generate()
        #expect(a.hasPrefix("sk-studio-") && a.count == 50)
        #expect(a != b)
        #expect(KeySecret.prefix(of: a) == String(a.prefix(16)))
        #expect(KeySecret.prefix(of: "sk-other-123") == nil)
    }

    @Test func hashIsSaltedAndVerifies() {
        let secret = KeySecret.generate()
        let s1 = KeySecret.salt(), s2 = KeySecret.salt()
        #expect(s1 != s2)
        #expect(KeySecret.hash(secret, salt: s1) != KeySecret.hash(secret, salt: s2))
        #expect(KeySecret.verify(secret, salt: s1, expected: KeySecret.hash(secret, salt: s1)))
        #expect(!KeySecret.verify(secret + "x", salt: s1, expected: KeySecret.hash(secret, salt: s1)))
        #expect(!KeySecret.constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(KeySecret.constantTimeEqual([1, 2, 3], [1, 2, 3]))
    }

    @Test func createAuthenticateRevoke() throws {
        let t = try TemporaryStore()
        #expect(try !t.store.keys.anyKeyExists())
        let (key, secret) = try t.store.keys.create(NewKey(name: " ci ", scopes: [.admin], rpm: 60, tpm: 20000))
        #expect(key.name == "ci")
        #expect(key.scopes == [.chat, .admin])
        #expect(try t.store.keys.anyKeyExists())
        #expect(try t.store.keys.authenticate(secret: secret)?.id == key.id)
        #expect(try t.store.keys.authenticate(secret: KeySecret.generate()) == nil)
        // Same prefix, different tail: found by prefix, rejected by hash.
        let forged = String(secret.dropLast()) + (secret.last == "a" ? "b" : "a")
        #expect(try t.store.keys.authenticate(secret: forged) == nil)

        let raw = try t.database.read { db in try String.fetchAll(db, sql: "SELECT hex(hash) || prefix || name FROM api_keys") }
        #expect(!raw.joined().contains(secret))

        let revoked = try t.store.keys.revoke(id: key.id)
        #expect(revoked.isRevoked)
        #expect(try t.store.keys.authenticate(secret: secret) == nil)
        #expect(try t.store.keys.anyKeyExists(), "a revoked key still means the server requires keys")
        #expect(throws: StoreError.notFound("key with id 99")) { try t.store.keys.revoke(id: 99) }
    }

    @Test func invalidKeysAreRefused() throws {
        let t = try TemporaryStore()
        #expect(throws: StoreError.self) { try t.store.keys.create(NewKey(name: "  ")) }
        #expect(throws: StoreError.self) { try t.store.keys.create(NewKey(name: "a", scopes: [])) }
        #expect(throws: StoreError.self) { try t.store.keys.create(NewKey(name: "a", rpm: 0)) }
    }

    @Test func touchRecordsLastUse() throws {
        let t = try TemporaryStore()
        let (key, _) = try t.store.keys.create(NewKey(name: "a"))
        try t.store.keys.touch(id: key.id, at: Date(timeIntervalSince1970: 1234))
        #expect(try t.store.keys.list()[0].lastUsed == Date(timeIntervalSince1970: 1234))
    }
}
