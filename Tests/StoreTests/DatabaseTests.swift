import Foundation
import Testing
@testable import Store

@Suite struct DatabaseTests {
    @Test func opensInWALModeWithEveryMigration() throws {
        let t = try TemporaryStore()
        #expect(try t.database.journalMode() == "wal")
        #expect(try t.database.appliedMigrations() == ["v1-keys", "v1-audit", "v1-prompts", "v1-votes"])
        #expect(try t.database.integrityCheck() == "ok")
    }

    @Test func reopeningKeepsDataAndAppliesNothingTwice() throws {
        let t = try TemporaryStore()
        _ = try t.store.keys.create(NewKey(name: "a"))
        let again = try Store.open(path: t.database.path)
        #expect(try again.keys.list().map(\.name) == ["a"])
        #expect(try again.database!.appliedMigrations().count == 4)
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
        #expect(try store.database!.appliedMigrations() == ["v1-keys", "v1-audit", "v1-prompts", "v1-votes"])
        #expect(try store.keys.list().map(\.name) == ["old"])
        #expect(try store.audit.search(AuditQuery()).total == 0)
    }

    @Test func anUnwritablePathIsAClearError() {
        #expect(throws: StoreError.self) { try Store.open(path: "/proc/no-such-dir/studio.sqlite") }
    }
}
