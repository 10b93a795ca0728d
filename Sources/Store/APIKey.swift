import Foundation

/// What a key may do: `chat` reaches `/v1` and the non-admin `/api` routes, `admin` also
/// reaches `/api/admin`.
public enum KeyScope: String, Sendable, CaseIterable, Codable {
    case chat
    case admin
}

/// A stored API key, without its secret (only a salted hash of it is kept).
public struct APIKey: Sendable, Equatable, Identifiable {
    public var id: Int64
    public var name: String
    /// The first characters of the secret, shown in lists so a user can tell keys apart.
    public var prefix: String
    public var scopes: [KeyScope]
    /// Requests per minute, or nil for no limit.
    public var rpm: Int?
    /// Prompt + completion tokens per minute, or nil for no limit.
    public var tpm: Int?
    public var created: Date
    public var revoked: Date?
    public var lastUsed: Date?

    public var isRevoked: Bool { revoked != nil }

    public func allows(_ scope: KeyScope) -> Bool { scopes.contains(scope) }

    public init(id: Int64, name: String, prefix: String, scopes: [KeyScope], rpm: Int?, tpm: Int?, created: Date,
                revoked: Date? = nil, lastUsed: Date? = nil) {
        self.id = id
        self.name = name
        self.prefix = prefix
        self.scopes = scopes
        self.rpm = rpm
        self.tpm = tpm
        self.created = created
        self.revoked = revoked
        self.lastUsed = lastUsed
    }
}

/// What `create` needs.
public struct NewKey: Sendable {
    public var name: String
    public var scopes: [KeyScope]
    public var rpm: Int?
    public var tpm: Int?

    public init(name: String, scopes: [KeyScope] = [.chat], rpm: Int? = nil, tpm: Int? = nil) {
        self.name = name
        self.scopes = scopes
        self.rpm = rpm
        self.tpm = tpm
    }

    /// Checks the fields; throws `StoreError.invalid` naming the bad one.
    public func validated() throws(StoreError) -> NewKey {
        var copy = self
        copy.name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !copy.name.isEmpty else { throw .invalid("A key needs a non-empty name.") }
        guard !scopes.isEmpty else { throw .invalid("A key needs at least one scope (chat or admin).") }
        if let rpm, rpm < 1 { throw .invalid("rpm must be at least 1, got \(rpm).") }
        if let tpm, tpm < 1 { throw .invalid("tpm must be at least 1, got \(tpm).") }
        // admin implies chat: an admin key can do everything a chat key can.
        copy.scopes = KeyScope.allCases.filter { scopes.contains($0) || ($0 == .chat && scopes.contains(.admin)) }
        return copy
    }
}
