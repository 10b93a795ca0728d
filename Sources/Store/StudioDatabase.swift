// The SQLite database behind the Store: one file (normally `$STUDIO_HOME/studio.sqlite`) in WAL
// mode, opened as a GRDB pool so that many readers run beside one writer, and migrated to the
// current schema on open.

import Foundation
import GRDB

/// An open SQLite database with Studio's schema.
public final class StudioDatabase: Sendable {
    /// The pool the SQLite repositories read and write through.
    let pool: DatabasePool
    public let path: String

    /// Opens (creating when needed) the database at `path` and applies every pending migration.
    public convenience init(path: String) throws(StoreError) {
        try self.init(path: path, migratingUpTo: nil)
    }

    /// Opens the database and migrates it up to `last` (tests make older databases with it).
    init(path: String, migratingUpTo last: String?) throws(StoreError) {
        self.path = path
        do {
            try FileManager.default.createDirectory(
                at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
            var config = Configuration()
            config.busyMode = .timeout(10)
            config.prepareDatabase { db in
                // WAL survives a killed process with every committed transaction; NORMAL skips the
                // fsync per commit that only a power loss would need.
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                try db.execute(sql: "PRAGMA foreign_keys = ON")
            }
            pool = try DatabasePool(path: path, configuration: config)
            if let last { try StoreMigrations.migrator.migrate(pool, upTo: last) } else { try StoreMigrations.migrator.migrate(pool) }
        } catch {
            throw StoreError.database("Could not open the Studio database at \(path): \(error)")
        }
    }

    /// `$root/studio.sqlite`, where `root` is the Studio home folder.
    public static func defaultPath(home root: URL) -> String {
        root.appendingPathComponent("studio.sqlite").path
    }

    /// The journal mode SQLite reports (`wal` once open).
    public func journalMode() throws(StoreError) -> String {
        try read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// The result of `PRAGMA integrity_check` (`ok` for a sound file).
    public func integrityCheck() throws(StoreError) -> String {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n") }
    }

    /// The migrations applied, oldest first.
    public func appliedMigrations() throws(StoreError) -> [String] {
        try read { db in try StoreMigrations.migrator.appliedMigrations(db) }
    }

    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try pool.read(body) } catch { throw StoreError.wrap(error) }
    }

    func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try pool.write(body) } catch { throw StoreError.wrap(error) }
    }
}
