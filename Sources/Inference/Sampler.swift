// Samplers turn the candidates for the next token into one chosen token. Each is a small value
// type doing one thing; `SamplerPipeline` runs them in llama.cpp's default order:
// penalties → top-k → top-p → min-p → temperature → draw (logit processors run first, on the
// full logits, see LogitProcessor.swift).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One step of the sampling chain: narrows, rescales or picks among the candidates.
public protocol Sampler: Sendable {
    /// Changes `candidates` in place; a terminal sampler sets `candidates.selected`.
    mutating func apply(_ candidates: inout SamplerCandidates)
}

/// Picks the most likely candidate (ties go to the lower token id). Temperature 0 uses this.
public struct GreedySampler: Sampler {
    public init() {}

    public func apply(_ candidates: inout SamplerCandidates) {
        if candidates.isSorted {
            candidates.selected = candidates.count > 0 ? Int(candidates.storage[0].id) : nil
            return
        }
        let best = candidates.withCandidates { c -> Int? in
            guard c.count > 0 else { return nil }
            var best = c[0]
            for x in c.dropFirst() where TokenLogit.precedes(x, best) { best = x }
            return Int(best.id)
        }
        candidates.selected = best
    }
}

/// Draws a candidate at random with probability softmax(logits), from a seeded generator.
public struct DistributionSampler: Sampler {
    public private(set) var random: SeededRandom

    public init(random: SeededRandom) {
        self.random = random
    }

    public init(seed: UInt64) {
        self.random = SeededRandom(seed: seed)
    }

    public mutating func apply(_ candidates: inout SamplerCandidates) {
        guard candidates.count > 0 else {
            candidates.selected = nil
            return
        }
        candidates.selected = candidates.draw(random.nextUnitDouble())
    }
}

/// Several samplers applied in order; stops early once one has chosen a token.
public struct SamplerChain: Sampler {
    public private(set) var samplers: [any Sampler]

    public init(_ samplers: [any Sampler]) {
        self.samplers = samplers
    }

    public mutating func apply(_ candidates: inout SamplerCandidates) {
        for i in samplers.indices {
            samplers[i].apply(&candidates)
            if candidates.selected != nil { return }
        }
    }
}
