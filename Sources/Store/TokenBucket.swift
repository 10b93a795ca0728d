/// A token bucket: holds up to `capacity` tokens and refills at `capacity` per `period` seconds.
/// A limit of N per minute is `TokenBucket(capacity: N, period: 60)`: a burst of N, then one
/// every 60/N seconds. Time is passed in (seconds on any monotonic clock), so tests need no clock.
public struct TokenBucket: Sendable, Equatable {
    public let capacity: Double
    public let period: Double
    public private(set) var tokens: Double
    private var updated: Double

    public init(capacity: Int, period: Double = 60, now: Double) {
        self.capacity = Double(capacity)
        self.period = period
        tokens = Double(capacity)
        updated = now
    }

    var ratePerSecond: Double { capacity / period }

    mutating func refill(_ now: Double) {
        if now > updated {
            tokens = min(capacity, tokens + (now - updated) * ratePerSecond)
            updated = now
        }
    }

    /// Takes `cost` tokens if the bucket holds them; otherwise takes nothing and returns the
    /// seconds until it will (never less than 1, as Retry-After counts whole seconds).
    public mutating func take(_ cost: Double = 1, now: Double) -> Int? {
        refill(now)
        if tokens >= cost {
            tokens -= cost
            return nil
        }
        return Self.wholeSeconds((min(cost, capacity) - tokens) / ratePerSecond)
    }

    /// Whether the bucket is not in debt; when it is, the seconds until it is not. Used for
    /// tokens/min, whose cost is only known after a response: a request is admitted while the
    /// bucket holds anything, and its tokens are `charge`d afterwards (the bucket may go negative).
    public mutating func available(now: Double) -> Int? {
        refill(now)
        return tokens > 0 ? nil : Self.wholeSeconds((1 - tokens) / ratePerSecond)
    }

    /// Removes `cost` tokens, going below zero if need be.
    public mutating func charge(_ cost: Double, now: Double) {
        refill(now)
        tokens -= cost
    }

    static func wholeSeconds(_ s: Double) -> Int { max(1, Int(s.rounded(.up))) }
}
