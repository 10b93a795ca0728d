// Log-probabilities as OpenAI reports them: the log-softmax of the model's raw logits, before
// any bias, penalty, truncation or temperature. One pass computes the log-sum-exp and keeps the
// top N in a small sorted array, so a 150k vocabulary is never sorted.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A token id with its log-probability.
public struct TokenLogprob: Sendable, Equatable {
    public var token: Int
    public var logprob: Float

    public init(token: Int, logprob: Float) {
        self.token = token
        self.logprob = logprob
    }
}

/// The log-probability of the chosen token and the most likely alternatives at one step.
public struct Logprobs: Sendable, Equatable {
    /// The chosen token and its log-probability.
    public var chosen: TokenLogprob
    /// The most likely tokens at this step, most likely first (ties: lower id first).
    public var top: [TokenLogprob]

    public init(chosen: TokenLogprob, top: [TokenLogprob]) {
        self.chosen = chosen
        self.top = top
    }

    /// Log-probabilities from raw logits (one per vocabulary id) for `chosen`, with the `topN`
    /// most likely alternatives. NaN logits count as -infinity.
    public init(logits: UnsafeBufferPointer<Float>, chosen: Int, topN: Int) {
        let n = logits.count
        var maxLogit = -Float.infinity
        for i in 0..<n where logits[i] > maxLogit { maxLogit = logits[i] }
        var sum: Double = 0
        if maxLogit > -.infinity {
            for i in 0..<n where !logits[i].isNaN { sum += Double(expf(logits[i] - maxLogit)) }
        }
        let logZ = maxLogit + Float(log(sum))
        func logprob(_ id: Int) -> Float {
            let x = logits[id]
            return x.isNaN ? -.infinity : x - logZ
        }

        // Top N by a single pass with insertion into a sorted array of at most N entries.
        let k = min(max(0, topN), n)
        var best: [TokenLogit] = []
        best.reserveCapacity(k + 1)
        if k > 0 {
            for i in 0..<n {
                let x = logits[i].isNaN ? -Float.infinity : logits[i]
                let c = TokenLogit(id: Int32(truncatingIfNeeded: i), logit: x)
                if best.count == k {
                    guard TokenLogit.precedes(c, best[k - 1]) else { continue }
                    best.removeLast()
                }
                var j = best.count
                while j > 0 && TokenLogit.precedes(c, best[j - 1]) { j -= 1 }
                best.insert(c, at: j)
            }
        }
        self.chosen = TokenLogprob(token: chosen, logprob: chosen >= 0 && chosen < n ? logprob(chosen) : -.infinity)
        self.top = best.map { TokenLogprob(token: Int($0.id), logprob: $0.logit - logZ) }
    }

    public init(logits: [Float], chosen: Int, topN: Int) {
        self = logits.withUnsafeBufferPointer { Logprobs(logits: $0, chosen: chosen, topN: topN) }
    }
}
