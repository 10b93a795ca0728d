// The narrowing and rescaling samplers, each matching llama.cpp's behaviour with min_keep = 1.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps exactly the `k` most likely candidates (all of them if there are fewer); k <= 0 is a
/// no-op. Uses partial selection, so it does not sort the whole vocabulary.
public struct TopKSampler: Sampler {
    public let k: Int

    public init(k: Int) {
        self.k = k
    }

    public func apply(_ candidates: inout SamplerCandidates) {
        guard k > 0 else { return }
        let k = min(k, candidates.count)
        candidates.sortTop(k)
        candidates.markSortedAfterTruncating(to: k)
    }
}

/// Nucleus sampling: keeps the smallest set of most likely candidates whose softmax
/// probability sums to at least `p` (always at least one); p >= 1 is a no-op.
public struct TopPSampler: Sampler {
    public let p: Float

    public init(p: Float) {
        self.p = p
    }

    public func apply(_ candidates: inout SamplerCandidates) {
        guard p < 1, candidates.count > 1 else { return }
        let maxLogit = candidates.maxLogit
        guard maxLogit > -.infinity else { return }
        let total = candidates.withCandidates { c -> Float in
            var sum: Float = 0
            for x in c { sum += expf(x.logit - maxLogit) }
            return sum
        }
        let target = p * total
        // Most of the mass usually sits in a few hundred tokens: sort those first, and the
        // rest only if the prefix does not reach p.
        var sortedPrefix = candidates.count > 1024 ? 256 : candidates.count
        var running: Float = 0
        var i = 0
        while true {
            candidates.sortTop(sortedPrefix)
            let limit = candidates.isSorted ? candidates.count : sortedPrefix
            let keep = candidates.withCandidates { c -> Int? in
                while i < limit {
                    running += expf(c[i].logit - maxLogit)
                    i += 1
                    if running >= target { return i }
                }
                return nil
            }
            if let keep {
                candidates.markSortedAfterTruncating(to: keep)
                return
            }
            if limit == candidates.count {
                candidates.markSortedAfterTruncating(to: candidates.count)
                return
            }
            sortedPrefix = candidates.count
        }
    }
}

/// Keeps the candidates whose probability is at least `p` times the most likely one's
/// (logit >= max + ln p); p <= 0 is a no-op. Preserves order.
public struct MinPSampler: Sampler {
    public let p: Float

    public init(p: Float) {
        self.p = p
    }

    public func apply(_ candidates: inout SamplerCandidates) {
        guard p > 0, candidates.count > 1 else { return }
        let maxLogit = candidates.maxLogit
        guard maxLogit > -.infinity else { return }
        let threshold = maxLogit + logf(p)
        candidates.filter { $0.logit >= threshold }
    }
}

/// Divides logits by the temperature; a temperature <= 0 keeps only the most likely candidate.
public struct TemperatureSampler: Sampler {
    public let temperature: Float

    public init(temperature: Float) {
        self.temperature = temperature
    }

    public func apply(_ candidates: inout SamplerCandidates) {
        guard candidates.count > 0 else { return }
        if temperature <= 0 {
            candidates.sortTop(1)
            candidates.markSortedAfterTruncating(to: 1)
            return
        }
        if temperature == 1 { return }
        let t = temperature
        candidates.withCandidates { c in
            for i in 0..<c.count { c[i].logit /= t }
        }
    }
}
