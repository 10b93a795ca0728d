// How to pick tokens and when to stop. The defaults are llama.cpp's common sampling defaults
// (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, repetition penalty off, window 64), so
// that an unconfigured request behaves like an unconfigured llama-server request.

/// Everything that controls one generation: sampling, penalties, limits, stops and logprobs.
public struct GenerateParameters: Sendable, Equatable {
    /// Sampling temperature; 0 means greedy (always the most likely token).
    public var temperature: Float = 0.8
    /// Keep only the k most likely tokens; 0 disables.
    public var topK: Int = 40
    /// Keep the smallest set of most likely tokens whose probability reaches p; 1 disables.
    public var topP: Float = 0.95
    /// Drop tokens less likely than minP times the most likely one; 0 disables.
    public var minP: Float = 0.05
    /// Divides positive (multiplies negative) logits of recently seen tokens; 1 disables.
    public var repetitionPenalty: Float = 1.0
    /// How many of the most recent tokens (prompt included) the penalties look at; 0 disables
    /// all three penalties.
    public var penaltyWindow: Int = 64
    /// Subtracted once from the logit of every token seen in the window (OpenAI semantics).
    public var presencePenalty: Float = 0
    /// Subtracted from a token's logit once per time it occurs in the window.
    public var frequencyPenalty: Float = 0
    /// Added to the logit of each token id before anything else; -infinity bans a token.
    public var logitBias: [Int: Float] = [:]
    /// Seed of the sampling generator; nil draws a random seed (reported in the result).
    public var seed: UInt64? = nil
    /// The most tokens to generate; nil means until the context is full.
    public var maxTokens: Int? = nil
    /// Strings that end generation; the stop string itself is never returned.
    public var stop: [String] = []
    /// Report the log-probability of each generated token.
    public var logprobs: Bool = false
    /// How many most likely alternatives to report at each step (0...20); needs `logprobs`.
    public var topLogprobs: Int = 0
    /// A grammar the output must follow (GBNF, a JSON Schema or any JSON object); nil: free text.
    public var grammar: GrammarSpec? = nil

    /// The largest `topLogprobs` accepted, as in OpenAI's API.
    public static let maxTopLogprobs = 20

    public init(
        temperature: Float = 0.8, topK: Int = 40, topP: Float = 0.95, minP: Float = 0.05,
        repetitionPenalty: Float = 1.0, penaltyWindow: Int = 64,
        presencePenalty: Float = 0, frequencyPenalty: Float = 0,
        logitBias: [Int: Float] = [:], seed: UInt64? = nil, maxTokens: Int? = nil,
        stop: [String] = [], logprobs: Bool = false, topLogprobs: Int = 0, grammar: GrammarSpec? = nil
    ) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.penaltyWindow = penaltyWindow
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.logitBias = logitBias
        self.seed = seed
        self.maxTokens = maxTokens
        self.stop = stop
        self.logprobs = logprobs
        self.topLogprobs = topLogprobs
        self.grammar = grammar
    }

    /// Greedy decoding: always the most likely token, no penalties.
    public static var greedy: GenerateParameters {
        GenerateParameters(temperature: 0)
    }

    /// Whether sampling is deterministic argmax.
    public var isGreedy: Bool { temperature == 0 }

    /// Throws the first setting that makes no sense, named as the caller spells it.
    /// - Parameter vocabularySize: when known, logit-bias ids are checked against it.
    public func validate(vocabularySize: Int? = nil) throws(GenerateParametersError) {
        if !temperature.isFinite || temperature < 0 {
            throw .invalidTemperature(temperature)
        }
        if topK < 0 { throw .invalidTopK(topK) }
        if !topP.isFinite || topP <= 0 || topP > 1 { throw .invalidTopP(topP) }
        if !minP.isFinite || minP < 0 || minP > 1 { throw .invalidMinP(minP) }
        if !repetitionPenalty.isFinite || repetitionPenalty <= 0 {
            throw .invalidRepetitionPenalty(repetitionPenalty)
        }
        if penaltyWindow < 0 { throw .invalidPenaltyWindow(penaltyWindow) }
        if !presencePenalty.isFinite { throw .invalidPresencePenalty(presencePenalty) }
        if !frequencyPenalty.isFinite { throw .invalidFrequencyPenalty(frequencyPenalty) }
        for (token, bias) in logitBias.sorted(by: { $0.key < $1.key }) {
            if token < 0 || (vocabularySize.map { token >= $0 } ?? false) {
                throw .logitBiasTokenOutOfRange(token: token, vocabularySize: vocabularySize)
            }
            if bias.isNaN || bias == .infinity {
                throw .invalidLogitBias(token: token, bias: bias)
            }
        }
        if let maxTokens, maxTokens < 1 { throw .invalidMaxTokens(maxTokens) }
        if let index = stop.firstIndex(where: \.isEmpty) { throw .emptyStopString(index: index) }
        if topLogprobs < 0 || topLogprobs > Self.maxTopLogprobs {
            throw .invalidTopLogprobs(topLogprobs)
        }
        if topLogprobs > 0 && !logprobs { throw .topLogprobsWithoutLogprobs(topLogprobs) }
        if let grammar {
            do { _ = try grammar.compile() } catch { throw .invalidGrammar(error) }
        }
    }
}

/// A generation setting outside its meaningful range.
public enum GenerateParametersError: Error, Equatable, CustomStringConvertible {
    case invalidTemperature(Float)
    case invalidTopK(Int)
    case invalidTopP(Float)
    case invalidMinP(Float)
    case invalidRepetitionPenalty(Float)
    case invalidPenaltyWindow(Int)
    case invalidPresencePenalty(Float)
    case invalidFrequencyPenalty(Float)
    case logitBiasTokenOutOfRange(token: Int, vocabularySize: Int?)
    case invalidLogitBias(token: Int, bias: Float)
    case invalidMaxTokens(Int)
    case emptyStopString(index: Int)
    case invalidTopLogprobs(Int)
    case topLogprobsWithoutLogprobs(Int)
    /// The grammar or JSON Schema cannot be compiled.
    case invalidGrammar(GrammarError)

    public var description: String {
        switch self {
        case .invalidTemperature(let t):
            "temperature must be a finite number >= 0 (0 means greedy), got \(t)."
        case .invalidTopK(let k):
            "top_k must be >= 0 (0 disables it), got \(k)."
        case .invalidTopP(let p):
            "top_p must be greater than 0 and at most 1, got \(p)."
        case .invalidMinP(let p):
            "min_p must be between 0 and 1, got \(p)."
        case .invalidRepetitionPenalty(let p):
            "repetition_penalty must be a finite number > 0 (1 disables it), got \(p)."
        case .invalidPenaltyWindow(let n):
            "the repetition penalty window (repeat_last_n) must be >= 0, got \(n)."
        case .invalidPresencePenalty(let p):
            "presence_penalty must be a finite number, got \(p)."
        case .invalidFrequencyPenalty(let p):
            "frequency_penalty must be a finite number, got \(p)."
        case .logitBiasTokenOutOfRange(let token, let size?):
            "logit_bias names token id \(token), but the vocabulary has ids 0..<\(size)."
        case .logitBiasTokenOutOfRange(let token, nil):
            "logit_bias names token id \(token), but token ids are never negative."
        case .invalidLogitBias(let token, let bias):
            "logit_bias for token \(token) must be a finite number or -infinity, got \(bias)."
        case .invalidMaxTokens(let n):
            "max_tokens must be at least 1, got \(n)."
        case .emptyStopString(let index):
            "stop string #\(index) is empty; every stop string needs at least one character."
        case .invalidTopLogprobs(let n):
            "top_logprobs must be between 0 and \(GenerateParameters.maxTopLogprobs), got \(n)."
        case .topLogprobsWithoutLogprobs(let n):
            "top_logprobs is \(n) but logprobs is off; set logprobs to true to get alternatives."
        case .invalidGrammar(let e):
            e.description
        }
    }
}
