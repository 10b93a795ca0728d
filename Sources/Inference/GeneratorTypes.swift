// What the decode loop needs from a model, and what it reports back.

/// Something that produces next-token logits: a model with its KV cache. The Generator is
/// written against this so it does not depend on any one model's API.
public protocol LogitsSource {
    /// The most tokens the context can hold.
    var contextLength: Int { get }
    /// The number of logits per step (one per vocabulary id).
    var vocabularySize: Int { get }
    /// Tokens already in the context (0 for a fresh sequence).
    var count: Int { get }
    /// Appends `tokens` to the context and returns the logits for the token after the last.
    mutating func prefill(_ tokens: [Int]) throws -> [Float]
    /// Appends one token and returns the logits for the token after it.
    mutating func step(_ token: Int) throws -> [Float]
}

/// Why generation ended.
public enum FinishReason: String, Sendable, Equatable {
    /// An end-of-generation token or a stop string.
    case stop
    /// `maxTokens` reached, or the context is full.
    case length
    /// The surrounding task was cancelled.
    case cancelled
    /// The grammar allows no token at this point: the output cannot be completed within it.
    case grammarDeadEnd = "grammar_dead_end"
}

/// One generated token as it streams out.
public struct GeneratedToken: Sendable, Equatable {
    public var id: Int
    /// The text this token releases; may be empty (an unfinished character, or text held back
    /// because it may start a stop string) or include text held back from earlier tokens.
    public var text: String
    /// Log-probabilities at this step, when requested.
    public var logprobs: Logprobs?

    public init(id: Int, text: String, logprobs: Logprobs? = nil) {
        self.id = id
        self.text = text
        self.logprobs = logprobs
    }
}

/// What the generation stream delivers.
public enum GenerationEvent: Sendable, Equatable {
    /// A new token and the text it releases.
    case token(GeneratedToken)
    /// Held-back text released at the end without a new token (after an end-of-generation
    /// token or cancellation).
    case text(String)
    /// The summary; always the last event of a stream.
    case finished(GenerationResult)
}

/// Timings of one generation.
public struct GenerationTiming: Sendable, Equatable {
    /// Time spent in `prefill` for the prompt.
    public var promptDuration: Duration
    /// Time from the end of the prompt to the end of generation.
    public var generationDuration: Duration
    /// Time from the call to the first generated token (prompt included).
    public var timeToFirstToken: Duration?
    public var promptTokens: Int
    /// Tokens sampled (an end-of-generation token counts: it was computed).
    public var generatedTokens: Int

    public var promptTokensPerSecond: Double { Self.rate(promptTokens, promptDuration) }
    public var generationTokensPerSecond: Double { Self.rate(generatedTokens, generationDuration) }

    private static func rate(_ n: Int, _ d: Duration) -> Double {
        let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        return seconds > 0 ? Double(n) / seconds : 0
    }
}

/// The summary of one generation.
public struct GenerationResult: Sendable, Equatable {
    /// The generated text, without any stop string and without the end-of-generation token.
    public var text: String
    /// Generated token ids (the end-of-generation token excluded).
    public var tokens: [Int]
    public var promptTokens: [Int]
    public var finishReason: FinishReason
    /// The stop string that ended generation, if one did.
    public var stopString: String?
    /// The seed the sampler used (drawn at random when the parameters had none).
    public var seed: UInt64
    /// Log-probabilities per generated token, when requested.
    public var logprobs: [Logprobs]?
    public var timing: GenerationTiming
}

/// A generation that cannot run.
public enum GenerationError: Error, Equatable, CustomStringConvertible {
    case emptyPrompt
    case promptTooLong(promptTokens: Int, alreadyInContext: Int, contextLength: Int)
    case invalidParameters(GenerateParametersError)
    case logitsCountMismatch(expected: Int, got: Int)
    case promptTokenOutOfRange(token: Int, position: Int, vocabularySize: Int)

    public var description: String {
        switch self {
        case .emptyPrompt:
            "the prompt is empty; generation needs at least one prompt token."
        case .promptTooLong(let n, 0, let ctx):
            "the prompt has \(n) tokens but the context holds \(ctx), leaving no room to generate; shorten the prompt to at most \(ctx - 1) tokens."
        case .promptTooLong(let n, let used, let ctx):
            "the prompt has \(n) tokens and \(used) are already in the context of \(ctx), leaving no room to generate."
        case .invalidParameters(let e):
            e.description
        case .promptTokenOutOfRange(let token, let position, let size):
            "prompt token #\(position) is id \(token), outside the model's vocabulary of \(size) ids."
        case .logitsCountMismatch(let expected, let got):
            "the model returned \(got) logits but its vocabulary has \(expected) tokens."
        }
    }
}
