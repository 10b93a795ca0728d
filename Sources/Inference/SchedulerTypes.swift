// What goes into the scheduler and what comes back out: requests, events, results, settings,
// live statistics and errors.

import Models

/// One sequence to generate: prompt tokens and how to sample. (An OpenAI request with `n`
/// choices becomes `n` of these.)
public struct SchedulerRequest: Sendable {
    public var prompt: [Int]
    public var parameters: GenerateParameters
    /// When set (a text completion's `echo` with logprobs), receives the log-probability of
    /// every prompt token after the first given the ones before it, with `parameters.topLogprobs`
    /// alternatives, once the prompt is in and before any event. The prompt is then computed in
    /// full (no prefix reuse) with every position's logits.
    public var promptLogprobs: (@Sendable ([Logprobs]) -> Void)?
    /// False: the task ends (`.length`, no token) once its prompt is in, as `echo` with
    /// `max_tokens` 0 asks; `parameters.maxTokens` is then not used.
    public var generates: Bool

    public init(prompt: [Int], parameters: GenerateParameters, promptLogprobs: (@Sendable ([Logprobs]) -> Void)? = nil,
                generates: Bool = true) {
        self.prompt = prompt
        self.parameters = parameters
        self.promptLogprobs = promptLogprobs
        self.generates = generates
    }
}

/// What a task's stream delivers: tokens as they are sampled, held-back text released at the
/// end, then exactly one `.finished`.
public enum SchedulerEvent: Sendable, Equatable {
    case token(GeneratedToken)
    case text(String)
    case finished(SchedulerResult)
}

/// The summary of one finished task.
public struct SchedulerResult: Sendable, Equatable {
    public var finishReason: FinishReason
    /// The stop string that ended the text, if one did.
    public var stopString: String?
    /// Prompt tokens of the request.
    public var promptTokens: Int
    /// How many of them were already in the slot's KV cache (prefix reuse) and not recomputed.
    public var cachedPromptTokens: Int
    /// Tokens generated (an end-of-generation token is not counted).
    public var completionTokens: Int
    /// The seed the sampler used.
    public var seed: UInt64
    /// From submission to the first sampled token.
    public var timeToFirstToken: Duration?
    /// From submission to the end.
    public var totalDuration: Duration
    /// Time spent waiting for a free slot.
    public var queueDuration: Duration
}

/// How a scheduler runs.
public struct SchedulerConfiguration: Sendable, Equatable {
    /// Sequences generated at the same time (llama-server's `--parallel`).
    public var slots: Int
    /// Context (KV-cache positions) of each slot.
    public var contextLength: Int
    /// Requests that may wait for a slot; one more is refused with `queueFull`.
    public var maxQueued: Int
    /// Prompt tokens prefilled per tick over all slots, so a long prompt does not stall the
    /// sequences that are decoding.
    public var prefillChunk: Int

    /// The default `prefillChunk`: llama.cpp's 512-token step, so that a lone request's prompt
    /// is evaluated in the steps a whole-prompt forward call runs in and gets the same bits.
    public static let defaultPrefillChunk = llamaCppStepTokens

    public init(slots: Int = 4, contextLength: Int = 4096, maxQueued: Int = 64, prefillChunk: Int = defaultPrefillChunk) {
        self.slots = slots
        self.contextLength = contextLength
        self.maxQueued = maxQueued
        self.prefillChunk = prefillChunk
    }
}

/// A snapshot of the scheduler, for `/metrics`.
public struct SchedulerStats: Sendable, Equatable {
    /// Tasks waiting for a slot.
    public var queued: Int = 0
    /// Slots with a task (prefilling or generating).
    public var active: Int = 0
    public var slots: Int = 0
    /// KV-cache positions in use over all slots (including kept prefixes of idle slots).
    public var cacheTokensUsed: Int = 0
    /// KV-cache positions over all slots.
    public var cacheTokensCapacity: Int = 0
    /// Prompt tokens that prefix reuse spared from recomputation, since start.
    public var reusedPromptTokens: Int = 0
    /// Ticks (steps of the loop) since start.
    public var ticks: Int = 0
    /// Seconds spent in the model's forward passes since start (the rest of a tick is
    /// sampling and bookkeeping); over wall time it is how busy the engine is.
    public var forwardSeconds: Double = 0
    /// Tokens run through the model since start: prompt chunks plus one per decode step.
    public var evaluatedTokens: Int = 0

    public init() {}
}

/// Why the scheduler refused or ended a task.
public enum SchedulerError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The wait queue is full; try again after `retryAfterSeconds`.
    case queueFull(limit: Int, retryAfterSeconds: Int)
    /// The prompt plus `max_tokens` do not fit the slot's context.
    case contextExceeded(promptTokens: Int, maxTokens: Int, contextLength: Int)
    case emptyPrompt
    case promptTokenOutOfRange(token: Int, position: Int, vocabularySize: Int)
    case invalidParameters(GenerateParametersError)
    /// The model failed while running this task.
    case modelFailed(String)
    /// The scheduler stopped (the model was unloaded or the server is shutting down).
    case shutDown

    public var description: String {
        switch self {
        case let .queueFull(limit, retry):
            "The server is busy: \(limit) requests are already waiting for this model. Retry in \(retry) s."
        case let .contextExceeded(prompt, maxTokens, ctx):
            "This model's context is \(ctx) tokens, but the request needs \(prompt + maxTokens) (\(prompt) in the prompt + \(maxTokens) to generate), \(prompt + maxTokens - ctx) too many. Shorten the prompt or lower max_tokens."
        case .emptyPrompt:
            "The prompt is empty; generation needs at least one prompt token."
        case let .promptTokenOutOfRange(token, position, size):
            "Prompt token #\(position) is id \(token), outside the model's vocabulary of \(size) ids."
        case let .invalidParameters(e):
            e.description
        case let .modelFailed(why):
            "The model failed while generating: \(why)"
        case .shutDown:
            "The model was unloaded before the request finished."
        }
    }
}

/// A submitted task: its id and the stream of its events. Dropping or cancelling the stream's
/// consumer cancels the task and frees its slot.
public struct SchedulerTask: Sendable {
    public let id: Int
    public let events: AsyncThrowingStream<SchedulerEvent, any Error>
}
