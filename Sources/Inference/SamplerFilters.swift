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
        candidates.keepTop(k)
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
        candidates.keepTopMass(p)
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
            candidates.keepTop(1)
            return
        }
        if temperature == 1 { return }
        let t = temperature
        candidates.withCandidates { c in
            for i in 0..<c.count { c[i].logit /= t }
        }
    }
}
