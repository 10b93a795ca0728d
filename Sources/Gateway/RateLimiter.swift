import Foundation
import Store
import Synchronization

/// Per-key token buckets in this process: requests per minute (one token per request) and
/// tokens per minute (prompt + completion tokens, charged when a response ends; a key whose
/// budget is spent waits until it refills above zero).
public final class RateLimiter: Sendable {
    private struct Buckets {
        var requests: TokenBucket?
        var tokens: TokenBucket?
    }

    private let buckets = Mutex<[Int64: Buckets]>([:])
    private let clock: @Sendable () -> Double

    init(clock: @escaping @Sendable () -> Double = RateLimiter.monotonicSeconds) {
        self.clock = clock
    }

    /// Seconds since an arbitrary fixed point of the monotonic clock.
    @Sendable public static func monotonicSeconds() -> Double {
        let d = ContinuousClock.now - origin
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    private static let origin = ContinuousClock.now

    private var now: Double { clock() }

    /// Lets one request of `key` through, or throws a 429 with the seconds to wait.
    func admit(_ key: APIKey) throws(APIError) {
        guard key.rpm != nil || key.tpm != nil else { return }
        let now = self.now
        let wait: (seconds: Int, what: String)? = buckets.withLock { all in
            var b = all[key.id] ?? Buckets(requests: key.rpm.map { TokenBucket(capacity: $0, now: now) },
                                           tokens: key.tpm.map { TokenBucket(capacity: $0, now: now) })
            defer { all[key.id] = b }
            if let s = b.tokens?.available(now: now) { return (s, "\(key.tpm!) tokens per minute") }
            if let s = b.requests?.take(now: now) { return (s, "\(key.rpm!) requests per minute") }
            return nil
        }
        if let wait {
            throw APIError(status: .tooManyRequests,
                           message: "Rate limit reached for key '\(key.name)': \(wait.what). Try again in \(wait.seconds) s.",
                           type: "rate_limit_exceeded", code: "rate_limit_exceeded", retryAfter: wait.seconds)
        }
    }

    /// Charges a finished response's tokens to `key`'s tokens-per-minute budget.
    func charge(_ key: APIKey, tokens: Int) {
        guard let tpm = key.tpm, tokens > 0 else { return }
        let now = self.now
        buckets.withLock { all in
            var b = all[key.id] ?? Buckets(requests: key.rpm.map { TokenBucket(capacity: $0, now: now) },
                                           tokens: TokenBucket(capacity: tpm, now: now))
            b.tokens?.charge(Double(tokens), now: now)
            all[key.id] = b
        }
    }
}
