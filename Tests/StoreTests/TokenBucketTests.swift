import Testing
@testable import Store

@Suite struct TokenBucketTests {
    @Test func burstThenRefillAtTheRate() {
        var b = TokenBucket(capacity: 3, period: 60, now: 0)
        #expect(b.take(now: 0) == nil)
        #expect(b.take(now: 0) == nil)
        #expect(b.take(now: 0) == nil)
        #expect(b.take(now: 0) == 20, "one token per 20 s")
        #expect(b.take(now: 10) == 10)
        #expect(b.take(now: 20) == nil)
        #expect(b.take(now: 1000) == nil)
        #expect(b.tokens == 2, "never more than the capacity")
    }

    @Test func retryAfterIsAtLeastOneSecond() {
        var b = TokenBucket(capacity: 600, period: 60, now: 0)
        for _ in 0..<600 { _ = b.take(now: 0) }
        #expect(b.take(now: 0) == 1)
    }

    @Test func tokenBudgetGoesIntoDebtAndRecovers() {
        var b = TokenBucket(capacity: 100, period: 60, now: 0)
        #expect(b.available(now: 0) == nil)
        b.charge(160, now: 0)
        #expect(b.tokens == -60)
        #expect(b.available(now: 0) == 37, "61 tokens at 100/60 per second")
        #expect(b.available(now: 37) == nil)
    }
}
