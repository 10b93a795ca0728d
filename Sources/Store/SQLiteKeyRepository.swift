import Foundation
import GRDB

/// API keys in the `api_keys` table.
public struct SQLiteKeyRepository: KeyRepository {
    let database: StudioDatabase

    public init(database: StudioDatabase) { self.database = database }

    public func create(_ new: NewKey) throws(StoreError) -> (key: APIKey, secret: String) {
        let new = try new.validated()
        let secret = KeySecret.generate()
        let salt = KeySecret.salt()
        let now = Date()
        let prefix = KeySecret.prefix(of: secret)!
        let id = try database.write { db in
            try db.execute(
                sql: "INSERT INTO api_keys (name, prefix, salt, hash, scopes, rpm, tpm, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [new.name, prefix, Data(salt), Data(KeySecret.hash(secret, salt: salt)),
                            new.scopes.map(\.rawValue).joined(separator: ","), new.rpm, new.tpm, now.timeIntervalSince1970])
            return db.lastInsertedRowID
        }
        let key = APIKey(id: id, name: new.name, prefix: prefix, scopes: new.scopes, rpm: new.rpm, tpm: new.tpm,
                         created: Date(timeIntervalSince1970: now.timeIntervalSince1970))
        return (key, secret)
    }

    public func list() throws(StoreError) -> [APIKey] {
        try database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM api_keys ORDER BY id").map(Self.key) }
    }

    public func revoke(id: Int64) throws(StoreError) -> APIKey {
        let row = try database.write { db -> Row? in
            try db.execute(sql: "UPDATE api_keys SET revoked = ? WHERE id = ? AND revoked IS NULL",
                           arguments: [Date().timeIntervalSince1970, id])
            return try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE id = ?", arguments: [id])
        }
        guard let row else { throw .notFound("key with id \(id)") }
        return Self.key(row)
    }

    public func authenticate(secret: String) throws(StoreError) -> APIKey? {
        guard let prefix = KeySecret.prefix(of: secret) else { return nil }
        let rows = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_keys WHERE prefix = ?", arguments: [prefix])
        }
        // Every candidate is hashed, so a revoked match costs the same as a live one.
        var found: APIKey?
        for row in rows {
            let salt = [UInt8](row["salt"] as Data), hash = [UInt8](row["hash"] as Data)
            if KeySecret.verify(secret, salt: salt, expected: hash) { found = Self.key(row) }
        }
        guard let found, !found.isRevoked else { return nil }
        return found
    }

    public func anyKeyExists() throws(StoreError) -> Bool {
        try database.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM api_keys)") ?? false }
    }

    public func touch(id: Int64, at time: Date) throws(StoreError) {
        try database.write { db in
            try db.execute(sql: "UPDATE api_keys SET last_used = ? WHERE id = ?", arguments: [time.timeIntervalSince1970, id])
        }
    }

    static func key(_ row: Row) -> APIKey {
        let scopes = (row["scopes"] as String).split(separator: ",").compactMap { KeyScope(rawValue: String($0)) }
        return APIKey(
            id: row["id"], name: row["name"], prefix: row["prefix"], scopes: scopes, rpm: row["rpm"], tpm: row["tpm"],
            created: Date(timeIntervalSince1970: row["created"]),
            revoked: (row["revoked"] as Double?).map(Date.init(timeIntervalSince1970:)),
            lastUsed: (row["last_used"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}
