// The sampler for one generation, assembled from GenerateParameters in llama.cpp's default
// order: logit bias → penalties → top-k → top-p → min-p → temperature → seeded draw, or
// logit bias → penalties → argmax when the temperature is 0. Its buffers are sized to the
// vocabulary on the first step and reused for every later one.
//
// With a grammar, a token is drawn as usual and checked against the grammar (a walk over its few
// bytes); only when the grammar rejects it is the full mask computed and the token drawn again
// from the masked logits. Most steps thus cost one check, not a mask.

/// Chooses each next token from raw logits, and remembers what it chose for the penalties.
public struct SamplerPipeline: Sendable {
    /// The seed of the random draw (drawn from the system when the parameters had none).
    public let seed: UInt64
    public private(set) var processors: [any LogitProcessor]
    public private(set) var sampler: SamplerChain
    /// Raw logits copied here so processors never modify the caller's (logprobs need them).
    private var scratch: [Float] = []
    private var candidates = SamplerCandidates()
    /// The grammar the output follows, when the parameters have one.
    public private(set) var grammar: GrammarConstraint?
    /// Set when the grammar allowed no token at all where it cannot end: the output cannot go on
    /// within it, and the id `sample` returned then is not to be used.
    public private(set) var grammarDeadEnd = false

    /// A pipeline for `parameters`, which are validated first. A grammar in the parameters needs
    /// `grammarVocabulary`, the bytes of every token.
    public init(
        parameters: GenerateParameters, vocabularySize: Int? = nil, grammarVocabulary: GrammarVocabulary? = nil
    ) throws(GenerateParametersError) {
        try parameters.validate(vocabularySize: vocabularySize)
        if let spec = parameters.grammar {
            guard let grammarVocabulary else { throw .invalidGrammar(GrammarError(.noVocabulary)) }
            do {
                grammar = GrammarConstraint(grammar: try spec.compile(), vocabulary: grammarVocabulary)
            } catch {
                throw .invalidGrammar(error)
            }
        }
        var system = SystemRandomNumberGenerator()
        let seed = parameters.seed ?? system.next()
        self.seed = seed
        self.processors = Self.processors(for: parameters)
        self.sampler = SamplerChain(Self.samplers(for: parameters, seed: seed))
    }

    /// The logit processors `parameters` ask for, in application order.
    public static func processors(for parameters: GenerateParameters) -> [any LogitProcessor] {
        var result: [any LogitProcessor] = []
        if !parameters.logitBias.isEmpty {
            result.append(LogitBiasProcessor(parameters.logitBias))
        }
        let penalties = PenaltyProcessor(
            window: parameters.penaltyWindow, repetition: parameters.repetitionPenalty,
            presence: parameters.presencePenalty, frequency: parameters.frequencyPenalty)
        if penalties.isActive { result.append(penalties) }
        return result
    }

    /// The samplers `parameters` ask for, in application order, ending with a terminal one.
    public static func samplers(for parameters: GenerateParameters, seed: UInt64) -> [any Sampler] {
        if parameters.isGreedy { return [GreedySampler()] }
        var result: [any Sampler] = []
        if parameters.topK > 0 { result.append(TopKSampler(k: parameters.topK)) }
        if parameters.topP < 1 { result.append(TopPSampler(p: parameters.topP)) }
        if parameters.minP > 0 { result.append(MinPSampler(p: parameters.minP)) }
        result.append(TemperatureSampler(temperature: parameters.temperature))
        result.append(DistributionSampler(seed: seed))
        return result
    }

    /// Feeds the prompt to the processors (the penalties count prompt tokens too).
    public mutating func prompt(_ tokens: [Int]) {
        for i in processors.indices { processors[i].prompt(tokens) }
    }

    /// Chooses the next token from raw logits (one per vocabulary id) without recording it.
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) -> Int {
        let token = sampleUnconstrained(logits)
        guard grammar != nil, !grammar!.allows(token) else { return token }
        return sampleMasked(logits)
    }

    private mutating func sampleUnconstrained(_ logits: UnsafeBufferPointer<Float>) -> Int {
        if processors.isEmpty {
            candidates.load(logits)
        } else {
            if scratch.count != logits.count {
                scratch = [Float](repeating: 0, count: logits.count)
            }
            scratch.withUnsafeMutableBufferPointer { s in
                _ = s.initialize(fromContentsOf: logits)
                for p in processors { p.process(s) }
                candidates.load(UnsafeBufferPointer(s))
            }
        }
        sampler.apply(&candidates)
        // A chain always ends in a terminal sampler, which selects whenever a candidate exists;
        // an empty vocabulary is the only way to get here without one.
        return candidates.selected ?? 0
    }

    /// Draws again with every token the grammar does not allow at -infinity. With no allowed
    /// token at all (a grammar no token can continue) it returns an end-of-generation id and
    /// sets `grammarDeadEnd` unless the grammar could end there.
    private mutating func sampleMasked(_ logits: UnsafeBufferPointer<Float>) -> Int {
        let mask = grammar!.allowedTokens()
        guard !mask.isEmpty else {
            grammarDeadEnd = !grammar!.canEnd
            return grammar!.vocabulary.endOfGeneration.first ?? 0
        }
        if scratch.count != logits.count {
            scratch = [Float](repeating: 0, count: logits.count)
        }
        scratch.withUnsafeMutableBufferPointer { s in
            _ = s.initialize(fromContentsOf: logits)
            for p in processors { p.process(s) }
            for i in 0..<s.count where !mask.contains(i) { s[i] = -.infinity }
            candidates.load(UnsafeBufferPointer(s))
        }
        sampler.apply(&candidates)
        if let chosen = candidates.selected, mask.contains(chosen) { return chosen }
        // Every allowed token was at -infinity (banned by a logit bias): keep to the grammar.
        return mask.ids.first!
    }

    /// Whether the grammar is complete and nothing more may follow (false without a grammar).
    public var grammarIsComplete: Bool { grammar?.isComplete ?? false }

    public mutating func sample(_ logits: [Float]) -> Int {
        logits.withUnsafeBufferPointer { sample($0) }
    }

    /// Records a token that entered the context (for the penalties).
    public mutating func accept(_ token: Int) {
        for i in processors.indices { processors[i].didSample(token) }
        grammar?.accept(token)
    }

    /// Samples and records the next token.
    public mutating func next(_ logits: [Float]) -> Int {
        let token = sample(logits)
        accept(token)
        return token
    }
}
