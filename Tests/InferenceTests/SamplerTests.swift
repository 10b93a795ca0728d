import Foundation
import Testing

import Inference

/// Deterministic pseudo-random logits in [-scale, scale) for a vocabulary of `n`.
private func pseudoRandomLogits(_ n: Int, seed: UInt64, scale: Float = 8) -> [Float] {
    var rng = SeededRandom(seed: seed)
    return (0..<n).map { _ in Float(rng.nextUnitDouble() * 2 - 1) * scale }
}

/// Softmax in Double, as a reference.
private func referenceSoftmax(_ logits: [Float]) -> [Double] {
    let m = Double(logits.max()!)
    let e = logits.map { exp(Double($0) - m) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
}

private func applySampler(_ sampler: some Sampler, to logits: [Float]) -> SamplerCandidates {
    var c = SamplerCandidates(logits: logits)
    var s = sampler
    s.apply(&c)
    return c
}

/// Parameters with every filter off: plain softmax sampling at `temperature`.
private func unfilteredParameters(temperature: Float, seed: UInt64) -> GenerateParameters {
    GenerateParameters(temperature: temperature, topK: 0, topP: 1, minP: 0, seed: seed)
}

// MARK: - Random numbers

@Test func seededRandomIsPinnedAcrossPlatforms() {
    // xoshiro256** seeded by SplitMix64; values computed independently (Python, 64-bit ints).
    var rng = SeededRandom(seed: 42)
    #expect(rng.next() == 0x1578_0b2e_0c2e_c716)
    #expect(rng.next() == 0x6104_d986_6d11_3a7e)
    #expect(rng.next() == 0xae17_5332_39e4_99a1)
    #expect(rng.next() == 0xecb8_ad47_03b3_60a1)
    var zero = SeededRandom(seed: 0)
    #expect(zero.next() == 0x99ec_5f36_cb75_f2b4)
    for _ in 0..<1000 {
        let u = rng.nextUnitDouble()
        #expect(u >= 0 && u < 1)
    }
}

// MARK: - Greedy and temperature

@Test func greedyPicksArgmax() {
    let logits = pseudoRandomLogits(50_000, seed: 7)
    let argmax = logits.indices.max { logits[$0] < logits[$1] }!
    #expect(applySampler(GreedySampler(), to: logits).selected == argmax)

    var pipeline = try! SamplerPipeline(parameters: .greedy)
    #expect(pipeline.sample(logits) == argmax)
    // Ties go to the lower id.
    #expect(applySampler(GreedySampler(), to: [1, 5, 2, 5, 5]).selected == 1)
}

@Test func temperatureZeroIsGreedyWhateverTheSeed() throws {
    let logits = pseudoRandomLogits(1000, seed: 3)
    let argmax = logits.indices.max { logits[$0] < logits[$1] }!
    for seed in UInt64(0)..<20 {
        var p = try SamplerPipeline(parameters: GenerateParameters(temperature: 0, seed: seed))
        #expect(p.sample(logits) == argmax)
    }
    // The temperature sampler itself at 0 keeps only the most likely candidate.
    let c = applySampler(TemperatureSampler(temperature: 0), to: logits)
    #expect(c.count == 1 && Int(c.candidates.first!.id) == argmax)
}

@Test func temperatureDividesLogits() {
    let logits: [Float] = [1, -2, 3.5, 0]
    let c = applySampler(TemperatureSampler(temperature: 0.5), to: logits)
    #expect(c.candidates.map(\.logit) == [2, -4, 7, 0])
    #expect(c.count == 4)
}

// MARK: - Top-k, top-p, min-p

@Test(arguments: [1, 2, 40, 999, 1000, 5000])
func topKKeepsExactlyTheKLargest(k: Int) {
    let n = 152_064
    let logits = pseudoRandomLogits(n, seed: UInt64(k))
    let c = applySampler(TopKSampler(k: k), to: logits)
    let expected = logits.indices.sorted {
        logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1)
    }.prefix(k)
    #expect(c.count == k)
    #expect(c.isSorted)
    #expect(c.candidates.map { Int($0.id) } == Array(expected))
}

@Test func topKEdgeCases() {
    let logits: [Float] = [3, 1, 2]
    #expect(applySampler(TopKSampler(k: 0), to: logits).count == 3)  // disabled
    let all = applySampler(TopKSampler(k: 10), to: logits)  // more than the vocabulary
    #expect(all.candidates.map(\.id) == [0, 2, 1])
    // Equal logits: exactly k survive, lower ids first.
    let flat = applySampler(TopKSampler(k: 3), to: [Float](repeating: 1, count: 10))
    #expect(flat.candidates.map(\.id) == [0, 1, 2])
}

@Test func partialSelectionHandlesWideRangesAndBannedTokens() {
    // Logits spread over 200 units (past the 32-unit bucket range), with a third banned.
    var logits = pseudoRandomLogits(100_000, seed: 5, scale: 100)
    for i in stride(from: 0, to: logits.count, by: 3) { logits[i] = -.infinity }
    let finite = logits.indices.filter { logits[$0] > -.infinity }
    for k in [1, 7, 300, finite.count, finite.count + 10] {
        let c = applySampler(TopKSampler(k: k), to: logits)
        let expected = logits.indices.sorted {
            logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1)
        }.prefix(k)
        #expect(c.candidates.map { Int($0.id) } == Array(expected), "k = \(k)")
    }
    // Everything banned: top-k still keeps k (lowest ids), top-p and min-p leave them alone.
    let banned = [Float](repeating: -.infinity, count: 5000)
    #expect(applySampler(TopKSampler(k: 3), to: banned).candidates.map(\.id) == [0, 1, 2])
    #expect(applySampler(TopPSampler(p: 0.5), to: banned).count == 5000)
    #expect(applySampler(MinPSampler(p: 0.5), to: banned).count == 5000)
    // NaN logits (a broken model) are never chosen.
    var withNaN = [Float](repeating: 1, count: 2000)
    withNaN[7] = .nan
    withNaN[8] = 2
    #expect(applySampler(TopKSampler(k: 1), to: withNaN).candidates.map(\.id) == [8])
    #expect(applySampler(TopKSampler(k: 2000), to: withNaN).candidates.last?.id == 7)
}

@Test func topPKeepsSmallestSetReachingP() {
    // Probabilities 0.5, 0.2, 0.15, 0.1, 0.05, listed out of order.
    let probs: [Float] = [0.1, 0.5, 0.05, 0.2, 0.15]
    let logits = probs.map { log($0) }
    func kept(_ p: Float) -> [Int32] { applySampler(TopPSampler(p: p), to: logits).candidates.map(\.id) }
    #expect(kept(0.3) == [1])
    #expect(kept(0.5) == [1] || kept(0.5) == [1, 3])  // exactly at the boundary: rounding decides
    #expect(kept(0.6) == [1, 3])
    #expect(kept(0.8) == [1, 3, 4])
    #expect(kept(0.9) == [1, 3, 4, 0])
    #expect(kept(0.99) == [1, 3, 4, 0, 2])
    #expect(kept(1.0) == [0, 1, 2, 3, 4])  // disabled, order untouched
    #expect(kept(0.0001) == [1])  // always at least one
}

@Test(arguments: [Float(0.1), 0.5, 0.9, 0.95, 0.999])
func topPMatchesFullSortOnALargeVocabulary(p: Float) {
    // Flat-ish logits spread the mass over thousands of tokens, past the 256-token fast path.
    let logits = pseudoRandomLogits(32_000, seed: 11, scale: 2)
    let probs = referenceSoftmax(logits)
    let order = logits.indices.sorted {
        logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1)
    }
    var cumulative = 0.0
    var expectedCount = order.count
    for (i, id) in order.enumerated() {
        cumulative += probs[id]
        if cumulative >= Double(p) {
            expectedCount = i + 1
            break
        }
    }
    let c = applySampler(TopPSampler(p: p), to: logits)
    // Float vs Double accumulation may move the cut by a token or two at the boundary.
    #expect(abs(c.count - expectedCount) <= 2)
    #expect(c.candidates.map { Int($0.id) } == Array(order.prefix(c.count)))
    let mass = c.candidates.reduce(0.0) { $0 + probs[Int($1.id)] }
    #expect(mass >= Double(p) - 1e-4)
    #expect(mass - probs[Int(c.candidates.last!.id)] < Double(p) + 1e-4)
}

@Test func minPKeepsTokensAboveFractionOfTheTop() {
    // Relative to the top token: 1, 0.5, 0.1, 0.04, 0.2.
    let logits: [Float] = [2, 2 + log(0.5), 2 + log(0.1), 2 + log(0.04), 2 + log(0.2)]
    func kept(_ p: Float) -> [Int32] { applySampler(MinPSampler(p: p), to: logits).candidates.map(\.id) }
    #expect(kept(0.05) == [0, 1, 2, 4])
    #expect(kept(0.15) == [0, 1, 4])
    #expect(kept(0.3) == [0, 1])
    #expect(kept(0.9) == [0])
    #expect(kept(0) == [0, 1, 2, 3, 4])
}

// MARK: - Penalties and bias

@Test func repetitionPenaltyDividesPositiveAndMultipliesNegative() {
    var p = PenaltyProcessor(window: 64, repetition: 1.5)
    p.prompt([1, 2])
    var logits: [Float] = [3, 3, -2, 4]
    logits.withUnsafeMutableBufferPointer { p.process($0) }
    #expect(logits == [3, 2, -3, 4])
}

@Test func presenceAndFrequencyPenaltiesSubtractPerOccurrence() {
    var p = PenaltyProcessor(window: 64, repetition: 1, presence: 0.25, frequency: 0.5)
    p.prompt([2])
    p.didSample(2)
    p.didSample(2)
    p.didSample(3)
    var logits: [Float] = [1, 1, 1, 1]
    logits.withUnsafeMutableBufferPointer { p.process($0) }
    // token 2 seen 3 times: 1 - 3×0.5 - 0.25; token 3 once: 1 - 0.5 - 0.25.
    #expect(logits == [1, 1, 1 - 1.5 - 0.25, 0.25])
}

@Test func penaltiesCombineAsLlamaCpp() {
    // Repetition first, then frequency and presence: (-1 × 2) - (2 × 0.5 + 1).
    var p = PenaltyProcessor(window: 8, repetition: 2, presence: 1, frequency: 0.5)
    p.prompt([0, 0])
    var logits: [Float] = [-1, 5]
    logits.withUnsafeMutableBufferPointer { p.process($0) }
    #expect(logits == [-4, 5])
}

@Test func penaltyWindowForgetsOldTokens() {
    var p = PenaltyProcessor(window: 3, repetition: 2)
    p.prompt([0, 1, 2, 3, 4])  // only 2, 3, 4 are in the window
    #expect(p.counts == [2: 1, 3: 1, 4: 1])
    p.didSample(2)  // evicts 2, adds 2
    p.didSample(5)  // evicts 3
    #expect(p.counts == [4: 1, 2: 1, 5: 1])
    var logits: [Float] = [2, 2, 2, 2, 2, 2]
    logits.withUnsafeMutableBufferPointer { p.process($0) }
    #expect(logits == [2, 2, 1, 2, 1, 1])
    // Window 0 disables everything.
    #expect(!PenaltyProcessor(window: 0, repetition: 2).isActive)
}

@Test func logitBiasShiftsAndBans() throws {
    let logits: [Float] = [5, 1, 0, 4.9]
    var params = GenerateParameters.greedy
    params.logitBias = [1: 10]
    var a = try SamplerPipeline(parameters: params)
    #expect(a.sample(logits) == 1)
    params.logitBias = [0: -.infinity]
    var b = try SamplerPipeline(parameters: params)
    #expect(b.sample(logits) == 3)
    // A banned token is never drawn, even at a high temperature.
    var hot = try SamplerPipeline(parameters: GenerateParameters(
        temperature: 5, topK: 0, topP: 1, minP: 0, logitBias: [0: -.infinity, 3: -.infinity], seed: 1))
    for _ in 0..<2000 {
        let t = hot.sample(logits)
        #expect(t == 1 || t == 2)
    }
}

@Test func pipelinePenalisesWhatItAccepts() throws {
    var params = GenerateParameters.greedy
    params.repetitionPenalty = 4
    var p = try SamplerPipeline(parameters: params)
    let logits: [Float] = [2, 1.5, 0]
    #expect(p.sample(logits) == 0)
    p.accept(0)  // token 0 now scores 2 / 4 = 0.5 < 1.5
    #expect(p.sample(logits) == 1)
    // The caller's logits are untouched (logprobs need the raw values).
    #expect(logits == [2, 1.5, 0])
}

// MARK: - Seeds and the sampled distribution

@Test func sameSeedSameSequenceDifferentSeedsDiffer() throws {
    func draw(_ seed: UInt64) throws -> [Int] {
        var p = try SamplerPipeline(parameters: GenerateParameters(temperature: 1, seed: seed))
        return (0..<200).map { step in p.next(pseudoRandomLogits(500, seed: UInt64(step), scale: 3)) }
    }
    #expect(try draw(1234) == draw(1234))
    #expect(try draw(1234) != draw(1235))
    #expect(try SamplerPipeline(parameters: GenerateParameters(seed: 99)).seed == 99)
    // Without a seed, each pipeline draws its own.
    let seeds = try (0..<4).map { _ in try SamplerPipeline(parameters: GenerateParameters()).seed }
    #expect(Set(seeds).count > 1)
}

@Test(arguments: [Float(1), 0.5, 1.7])
func sampledFrequenciesMatchSoftmax(temperature: Float) throws {
    let logits: [Float] = [1.0, 2.0, 0.5, -1.0, 1.5, 0.0, -0.5, 2.2]
    let expected = referenceSoftmax(logits.map { $0 / temperature })
    var p = try SamplerPipeline(parameters: unfilteredParameters(temperature: temperature, seed: 2024))
    let draws = 200_000
    var counts = [Int](repeating: 0, count: logits.count)
    for _ in 0..<draws { counts[p.sample(logits)] += 1 }
    var chiSquare = 0.0
    for i in logits.indices {
        let observed = Double(counts[i]) / Double(draws)
        // Five standard deviations of a binomial proportion.
        let sigma = (expected[i] * (1 - expected[i]) / Double(draws)).squareRoot()
        #expect(abs(observed - expected[i]) < 5 * sigma + 1e-6, "token \(i)")
        let e = expected[i] * Double(draws)
        chiSquare += (Double(counts[i]) - e) * (Double(counts[i]) - e) / e
    }
    // 7 degrees of freedom: the 0.999 quantile is 24.3.
    #expect(chiSquare < 24.3)
}

@Test func filtersThenTemperatureRestrictTheDraw() throws {
    // top-k 3 then top-p 0.6: of the top three (probs ∝ e^3, e^2.5, e^2), top-p keeps two.
    let logits: [Float] = [0, 3, 2.5, 2, -1, 1]
    var p = try SamplerPipeline(parameters: GenerateParameters(
        temperature: 1, topK: 3, topP: 0.6, minP: 0, seed: 5))
    var seen = Set<Int>()
    for _ in 0..<5000 { seen.insert(p.sample(logits)) }
    #expect(seen == [1, 2])
    // min-p applies to what survived top-k / top-p, before temperature.
    var q = try SamplerPipeline(parameters: GenerateParameters(
        temperature: 3, topK: 0, topP: 1, minP: 0.5, seed: 5))
    seen = []
    for _ in 0..<5000 { seen.insert(q.sample(logits)) }
    #expect(seen == [1, 2])  // e^-0.5 ≈ 0.61 ≥ 0.5, e^-1 ≈ 0.37 < 0.5, whatever the temperature
}

// MARK: - Logprobs

@Test func logprobsMatchDirectLogSoftmax() {
    let n = 152_064
    let logits = pseudoRandomLogits(n, seed: 77, scale: 12)
    let m = Double(logits.max()!)
    let logZ = m + log(logits.reduce(0.0) { $0 + exp(Double($1) - m) })
    let lp = Logprobs(logits: logits, chosen: 1234, topN: 20)
    #expect(lp.chosen.token == 1234)
    #expect(abs(Double(lp.chosen.logprob) - (Double(logits[1234]) - logZ)) < 1e-4)
    let order = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(20)
    #expect(lp.top.map(\.token) == Array(order))
    for t in lp.top {
        #expect(abs(Double(t.logprob) - (Double(logits[t.token]) - logZ)) < 1e-4)
    }
    #expect(Logprobs(logits: logits, chosen: 0, topN: 0).top.isEmpty)
    // Probabilities of a small vector sum to 1.
    let small = Logprobs(logits: [0, 1, 2], chosen: 2, topN: 3)
    #expect(abs(small.top.reduce(0.0) { $0 + exp(Double($1.logprob)) } - 1) < 1e-6)
}

// MARK: - Parameters

@Test func validationRejectsAbsurdValues() {
    func error(_ change: (inout GenerateParameters) -> Void) -> GenerateParametersError? {
        var p = GenerateParameters()
        change(&p)
        do {
            try p.validate(vocabularySize: 1000)
            return nil
        } catch {
            return error
        }
    }
    #expect(error { _ in } == nil)
    #expect(error { $0.temperature = -0.1 } == .invalidTemperature(-0.1))
    #expect(error { $0.temperature = .nan } != nil)
    #expect(error { $0.temperature = .infinity } != nil)
    #expect(error { $0.topK = -1 } == .invalidTopK(-1))
    #expect(error { $0.topP = 0 } == .invalidTopP(0))
    #expect(error { $0.topP = 1.5 } == .invalidTopP(1.5))
    #expect(error { $0.topP = .nan } != nil)
    #expect(error { $0.minP = -0.01 } == .invalidMinP(-0.01))
    #expect(error { $0.minP = 2 } == .invalidMinP(2))
    #expect(error { $0.repetitionPenalty = 0 } == .invalidRepetitionPenalty(0))
    #expect(error { $0.penaltyWindow = -1 } == .invalidPenaltyWindow(-1))
    #expect(error { $0.presencePenalty = .nan } != nil)
    #expect(error { $0.frequencyPenalty = -.infinity } != nil)
    #expect(error { $0.logitBias = [1000: 1] } == .logitBiasTokenOutOfRange(token: 1000, vocabularySize: 1000))
    #expect(error { $0.logitBias = [-1: 1] } != nil)
    #expect(error { $0.logitBias = [3: .nan] } != nil)
    #expect(error { $0.logitBias = [3: -.infinity] } == nil)
    #expect(error { $0.maxTokens = 0 } == .invalidMaxTokens(0))
    #expect(error { $0.stop = ["ok", ""] } == .emptyStopString(index: 1))
    #expect(error { $0.logprobs = true; $0.topLogprobs = 21 } == .invalidTopLogprobs(21))
    #expect(error { $0.logprobs = true; $0.topLogprobs = 20 } == nil)
    #expect(error { $0.topLogprobs = 5 } == .topLogprobsWithoutLogprobs(5))

    let message = GenerateParametersError.invalidTopP(1.5).description
    #expect(message.contains("top_p") && message.contains("1.5"))
}

@Test func defaultsAreLlamaCppsAndPickTheChain() {
    let d = GenerateParameters()
    #expect(d.temperature == 0.8 && d.topK == 40 && d.topP == 0.95 && d.minP == 0.05)
    #expect(d.repetitionPenalty == 1 && d.penaltyWindow == 64)
    let chain = SamplerPipeline.samplers(for: d, seed: 1)
    #expect(chain.count == 5)
    #expect(chain[0] is TopKSampler && chain[1] is TopPSampler && chain[2] is MinPSampler)
    #expect(chain[3] is TemperatureSampler && chain[4] is DistributionSampler)
    #expect(SamplerPipeline.samplers(for: .greedy, seed: 1).first is GreedySampler)
    var withPenalties = d
    withPenalties.logitBias = [1: 1]
    withPenalties.frequencyPenalty = 0.5
    let processors = SamplerPipeline.processors(for: withPenalties)
    #expect(processors.count == 2 && processors[0] is LogitBiasProcessor && processors[1] is PenaltyProcessor)
    #expect(SamplerPipeline.processors(for: d).isEmpty)
}
