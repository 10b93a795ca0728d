import Foundation

/// API keys as features use them. The SQLite store implements it; another database can too.
public protocol KeyRepository: Sendable {
    /// Stores a new key; returns it with its secret, which is not kept and cannot be shown again.
    func create(_ key: NewKey) throws(StoreError) -> (key: APIKey, secret: String)
    /// Every key, revoked ones included, oldest first.
    func list() throws(StoreError) -> [APIKey]
    /// Marks a key revoked; it stops authenticating at once. Throws `notFound` for an unknown id.
    @discardableResult func revoke(id: Int64) throws(StoreError) -> APIKey
    /// The live (not revoked) key whose secret this is, or nil.
    func authenticate(secret: String) throws(StoreError) -> APIKey?
    /// Whether any key was ever created (then requests must authenticate).
    func anyKeyExists() throws(StoreError) -> Bool
    /// Records that a key was just used.
    func touch(id: Int64, at time: Date) throws(StoreError)
}
