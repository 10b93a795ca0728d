import ChatTemplates
import Foundation
import Testing
@testable import Store

@Suite struct DatabaseTests {
    @Test func opensInWALModeWithEveryMigration() throws {
        let t = try TemporaryStore()
        #expect(try t.database.journalMode() == "wal")
        #expect(try t.database.appliedMigrations() == ["v1-keys", "v1-audit", "v1-prompts", "v1-votes", "v2-audit-reasoning"])
        #expect(try t.database.integrityCheck() == "ok")
    }

    @Test func reopeningKeepsDataAndAppliesNothingTwice() throws {
        let t = try TemporaryStore()
        _ = try t.store.keys.create(NewKey(name: "a"))
        let again = try Store.open(path: t.database.path)
        #expect(try again.keys.list().map(\.name) == ["a"])
        #expect(try again.database!.appliedMigrations().count == 5)
    }

    @Test func anOlderDatabaseIsUpgradedInOrderKeepingItsRows() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-upgrade-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("studio.sqlite").path
        do {
            // A database made by a version that only knew keys.
            let old = try StudioDatabase(path: path, migratingUpTo: "v1-keys")
            #expect(try old.appliedMigrations() == ["v1-keys"])
            try old.write { db in
                try db.execute(sql: "INSERT INTO api_keys (name, prefix, salt, hash, scopes, created) VALUES ('old', 'p', x'00', x'00', 'chat', 0)")
            }
        }
        let store = try Store.open(path: path)
        #expect(try store.database!.appliedMigrations() == ["v1-keys", "v1-audit", "v1-prompts", "v1-votes", "v2-audit-reasoning"])
        #expect(try store.keys.list().map(\.name) == ["old"])
        #expect(try store.audit.search(AuditQuery()).total == 0)
    }

    /// A database from before the audit log kept reasoning gains the column: its old rows read
    /// back with no reasoning, new rows keep theirs.
    @Test func anAuditLogWithoutReasoningIsUpgradedKeepingItsRows() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-reasoning-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("studio.sqlite").path
        do {
            let old = try StudioDatabase(path: path, migratingUpTo: "v1-votes")
            try old.write { db in
                try db.execute(sql: """
                    INSERT INTO audit_log (request_id, time, method, endpoint, model, status, response)
                    VALUES ('old', 100, 'POST', '/v1/chat/completions', 'm', 200, 'before')
                    """)
            }
        }
        let store = try Store.open(path: path)
        #expect(try store.database!.appliedMigrations().last == "v2-audit-reasoning")
        var thought = try #require(try store.audit.search(AuditQuery()).records.first)
        #expect(thought.requestID == "old" && thought.response == "before" && thought.reasoning == nil)
        thought.requestID = "new"
        thought.reasoning = "Two plus two."
        try store.audit.append(thought)
        let records = try store.audit.search(AuditQuery()).records
        #expect(records.map(\.reasoning) == ["Two plus two.", nil])
        #expect(try store.audit.search(AuditQuery(grep: "plus two")).records.map(\.requestID) == ["new"])
        guard case .object(let new) = records[0].detailJSON, case .object(let old) = records[1].detailJSON else {
            Issue.record("a record's detail is not an object")
            return
        }
        #expect(new["reasoning"] == .string("Two plus two.") && old["reasoning"] == .null)
    }

    @Test func anUnwritablePathIsAClearError() {
        #expect(throws: StoreError.self) { try Store.open(path: "/proc/no-such-dir/studio.sqlite") }
    }
}
