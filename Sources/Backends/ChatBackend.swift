// The one interface the Gateway (and the CLI's chat) talk to: a backend serves chat and text
// completions for named models and lists them. It speaks OpenAI's concepts (choices, finish
// reasons, usage, logprobs) but not HTTP or JSON.

import ChatTemplates
import Inference

/// Something that generates: the local engine, or (later) a remote OpenAI-compatible server.
public protocol ChatBackend: Sendable {
    /// The models this backend serves.
    func models() async -> [BackendModel]
    /// Starts a chat completion. Throws `BackendError` when the request cannot start; the
    /// response's stream carries the choices' text as it is generated.
    func chat(_ request: ChatRequest) async throws -> BackendResponse
    /// Starts a text completion (no chat template).
    func completion(_ request: CompletionRequest) async throws -> BackendResponse
    /// Live figures of the loaded models, for `/metrics`.
    func statistics() async -> [BackendModelStats]
}

/// Live figures of one loaded model.
public struct BackendModelStats: Sendable, Equatable {
    public var id: String
    public var queued: Int
    public var active: Int
    public var slots: Int
    public var cacheTokensUsed: Int
    public var cacheTokensCapacity: Int
    public var reusedPromptTokens: Int
    /// Bytes the loaded model holds: its mapped weights file plus the KV caches of its slots.
    public var memoryBytes: Int
    /// Scheduler steps, seconds spent in forward passes, and tokens evaluated, since load.
    public var ticks: Int
    public var forwardSeconds: Double
    public var evaluatedTokens: Int

    public init(id: String, queued: Int = 0, active: Int = 0, slots: Int = 0, cacheTokensUsed: Int = 0,
                cacheTokensCapacity: Int = 0, reusedPromptTokens: Int = 0, memoryBytes: Int = 0,
                ticks: Int = 0, forwardSeconds: Double = 0, evaluatedTokens: Int = 0) {
        self.id = id
        self.queued = queued
        self.active = active
        self.slots = slots
        self.cacheTokensUsed = cacheTokensUsed
        self.cacheTokensCapacity = cacheTokensCapacity
        self.reusedPromptTokens = reusedPromptTokens
        self.memoryBytes = memoryBytes
        self.ticks = ticks
        self.forwardSeconds = forwardSeconds
        self.evaluatedTokens = evaluatedTokens
    }
}

/// A model as `/v1/models` lists it.
public struct BackendModel: Sendable, Equatable {
    public var id: String
    /// Unix seconds when the model was registered (OpenAI's `created`).
    public var created: Int
    public var ownedBy: String
    /// Whether its weights are loaded right now.
    public var loaded: Bool

    public init(id: String, created: Int, ownedBy: String = "studio", loaded: Bool = false) {
        self.id = id
        self.created = created
        self.ownedBy = ownedBy
        self.loaded = loaded
    }
}

/// A chat completion request.
public struct ChatRequest: Sendable {
    public var model: String
    /// OpenAI-shaped messages (objects with `role`, `content`, …), key order kept.
    public var messages: [TemplateValue]
    public var tools: [TemplateValue]?
    public var parameters: GenerateParameters
    /// Choices to generate.
    public var n: Int
    /// Values for a stored prompt's `{{variables}}` (when `model` names `prompt:NAME@LABEL`).
    public var variables: [String: TemplateValue]
    /// Whether the model may, must, or must not call `tools`.
    public var toolChoice: ToolChoice
    /// Whether several calls may be made in one turn (OpenAI's `parallel_tool_calls`).
    public var parallelToolCalls: Bool
    /// The client's end-user id (OpenAI's `user`), passed on to remote engines.
    public var user: String?

    public init(model: String, messages: [TemplateValue], tools: [TemplateValue]? = nil, parameters: GenerateParameters, n: Int = 1,
                variables: [String: TemplateValue] = [:], toolChoice: ToolChoice = .auto, parallelToolCalls: Bool = true,
                user: String? = nil) {
        self.model = model
        self.messages = messages
        self.tools = tools
        self.parameters = parameters
        self.n = n
        self.variables = variables
        self.toolChoice = toolChoice
        self.parallelToolCalls = parallelToolCalls
        self.user = user
    }
}

/// A prompt of a text completion.
public enum PromptInput: Sendable, Equatable {
    case text(String)
    case tokens([Int])
}

/// A text completion request: every prompt gets `n` choices (choice index = prompt × n + i).
public struct CompletionRequest: Sendable {
    public var model: String
    public var prompts: [PromptInput]
    public var parameters: GenerateParameters
    public var n: Int
    /// Whether the answer repeats the prompt before the completion (OpenAI's `echo`); with
    /// logprobs, the prompt's tokens are scored too. With `echo`, `parameters.maxTokens` 0 asks
    /// for the prompt alone (scoring a text).
    public var echo: Bool
    /// The client's end-user id (OpenAI's `user`), passed on to remote engines.
    public var user: String?

    public init(model: String, prompts: [PromptInput], parameters: GenerateParameters, n: Int = 1, echo: Bool = false,
                user: String? = nil) {
        self.model = model
        self.prompts = prompts
        self.parameters = parameters
        self.n = n
        self.echo = echo
        self.user = user
    }
}

/// A token with its text, bytes and log-probability, as OpenAI's logprobs report it.
public struct TokenAlternative: Sendable, Equatable {
    public var token: String
    public var bytes: [UInt8]
    public var logprob: Float

    public init(token: String, bytes: [UInt8], logprob: Float) {
        self.token = token
        self.bytes = bytes
        self.logprob = logprob
    }
}

/// The log-probability of a generated token and the most likely alternatives at its step.
public struct TokenLogprobInfo: Sendable, Equatable {
    public var chosen: TokenAlternative
    public var top: [TokenAlternative]
    /// False for an echoed prompt's first token, which nothing before it predicts: only the
    /// token is known (OpenAI reports null for its logprob and alternatives).
    public var scored: Bool

    public init(chosen: TokenAlternative, top: [TokenAlternative], scored: Bool = true) {
        self.chosen = chosen
        self.top = top
        self.scored = scored
    }
}

/// Token counts of a whole request.
public struct BackendUsage: Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    /// Prompt tokens served from the KV cache (prefix reuse).
    public var cachedTokens: Int

    public var totalTokens: Int { promptTokens + completionTokens }

    public init(promptTokens: Int, completionTokens: Int, cachedTokens: Int = 0) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
    }
}

/// Why a choice ended, in OpenAI's words.
public enum ChoiceFinishReason: String, Sendable, Equatable {
    case stop
    case length
    case toolCalls = "tool_calls"
}

/// What a response's stream delivers, choices interleaved.
public enum BackendEvent: Sendable, Equatable {
    /// Text of choice `choice`: one generated token (with its logprobs when asked for), or text
    /// released at the end without a token (then `logprobs` is nil and `tokens` is 0).
    case text(choice: Int, text: String, logprobs: TokenLogprobInfo?, tokens: Int)
    /// Choice `choice` called a function; `index` counts the choice's calls from 0. The first
    /// event of an index starts the call (id, name, and its arguments so far, often empty); each
    /// later event of the same index carries the next fragment of the arguments in
    /// `call.arguments` (id and name repeated). A call's arguments are its fragments joined.
    case toolCall(choice: Int, index: Int, call: ToolCall)
    /// The prompt of choice `choice` repeated before its text (a completion's `echo`), first of
    /// the choice's events; with logprobs, one entry per prompt token, the first unscored.
    case prompt(choice: Int, text: String, logprobs: [TokenLogprobInfo]?)
    /// Reasoning text of choice `choice`, apart from its content (a remote's `reasoning_content`,
    /// as vLLM sends it for reasoning models).
    case reasoning(choice: Int, text: String)
    /// Choice `choice` is over.
    case finish(choice: Int, reason: ChoiceFinishReason)
    /// The request's usage; the last event of every stream that completes.
    case usage(BackendUsage)
}

/// A started generation.
public struct BackendResponse: Sendable {
    /// The model name to report (as the request named it).
    public var model: String
    /// Number of choices the stream will finish.
    public var choices: Int
    /// Prompt tokens per prompt (for completions; one entry for a chat).
    public var promptTokens: [Int]
    public var events: AsyncThrowingStream<BackendEvent, any Error>
    /// Stops the generation (the client went away); a no-op once it has finished.
    public var cancel: @Sendable () -> Void

    public init(model: String, choices: Int, promptTokens: [Int], events: AsyncThrowingStream<BackendEvent, any Error>,
                cancel: @escaping @Sendable () -> Void = {}) {
        self.model = model
        self.choices = choices
        self.promptTokens = promptTokens
        self.events = events
        self.cancel = cancel
    }
}
