import Foundation
import GRDB

/// Votes in the `votes` table.
public struct SQLiteVoteRepository: VoteRepository {
    let database: StudioDatabase

    public init(database: StudioDatabase) { self.database = database }

    public func add(_ v: Vote) throws(StoreError) -> Int64 {
        guard !v.left.isEmpty, !v.right.isEmpty else { throw .invalid("A vote needs both a 'left' and a 'right' model.") }
        return try database.write { db in
            try db.execute(sql: "INSERT INTO votes (time, prompt, left_model, right_model, winner) VALUES (?, ?, ?, ?, ?)",
                           arguments: [v.time.timeIntervalSince1970, v.prompt, v.left, v.right, v.winner.rawValue])
            return db.lastInsertedRowID
        }
    }

    public func all() throws(StoreError) -> [Vote] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM votes ORDER BY id").map { row in
                Vote(id: row["id"], time: Date(timeIntervalSince1970: row["time"]), prompt: row["prompt"], left: row["left_model"],
                     right: row["right_model"], winner: Vote.Winner(rawValue: row["winner"]) ?? .tie)
            }
        }
    }
}
