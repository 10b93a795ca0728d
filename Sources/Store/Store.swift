import Foundation

/// The repositories features use, over one database. `Store.open(path:)` gives the SQLite
/// implementations; tests or another database can build one from other implementations.
public struct Store: Sendable {
    public var keys: any KeyRepository
    public var audit: any AuditRepository
    public var prompts: any PromptRepository
    public var votes: any VoteRepository
    /// The SQLite file, when the store is SQLite (for integrity checks and messages).
    public var database: StudioDatabase?

    public init(keys: any KeyRepository, audit: any AuditRepository, prompts: any PromptRepository, votes: any VoteRepository,
                database: StudioDatabase? = nil) {
        self.keys = keys
        self.audit = audit
        self.prompts = prompts
        self.votes = votes
        self.database = database
    }

    /// The SQLite store at `path` (created and migrated as needed).
    public static func open(path: String) throws(StoreError) -> Store {
        let db = try StudioDatabase(path: path)
        return Store(keys: SQLiteKeyRepository(database: db), audit: SQLiteAuditRepository(database: db),
                     prompts: SQLitePromptRepository(database: db), votes: SQLiteVoteRepository(database: db), database: db)
    }
}
