import Crypto
import Foundation

/// Making and checking key secrets. A secret is `sk-studio-` and 40 random base-62 characters
/// (about 238 bits); the store keeps its first characters as a lookup prefix and
/// SHA-256(salt ‖ secret) with a random 16-byte salt per key.
public enum KeySecret {
    public static let marker = "sk-studio-"
    static let randomLength = 40
    /// Characters of the secret (marker included) kept in clear for lookup and display.
    public static let prefixLength = marker.count + 6
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// A new random secret.
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        let chars = (0..<randomLength).map { _ in alphabet[Int(rng.next(upperBound: UInt(alphabet.count)))] }
        return marker + String(decoding: chars, as: UTF8.self)
    }

    /// The lookup prefix of a secret, or nil when it is not shaped like one of ours.
    public static func prefix(of secret: String) -> String? {
        guard secret.hasPrefix(marker), secret.utf8.count == marker.count + randomLength else { return nil }
        return String(secret.prefix(prefixLength))
    }

    public static func salt() -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
    }

    public static func hash(_ secret: String, salt: [UInt8]) -> [UInt8] {
        var h = SHA256()
        h.update(data: salt)
        h.update(data: Array(secret.utf8))
        return Array(h.finalize())
    }

    /// Whether `secret` hashes to `expected` with `salt`; compares every byte whatever the
    /// first difference, so the time taken does not tell how much matched.
    public static func verify(_ secret: String, salt: [UInt8], expected: [UInt8]) -> Bool {
        constantTimeEqual(hash(secret, salt: salt), expected)
    }

    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return diff == 0
    }
}
