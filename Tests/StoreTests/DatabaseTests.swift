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

    @Test func anUnwritablePathIsAClearError() {
        #expect(throws: StoreError.self) { try Store.open(path: "/proc/no-such-dir/studio.sqlite") }
    }
}
