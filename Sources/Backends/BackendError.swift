import Inference

/// Why a backend refused or failed a request. Each case says which HTTP status and OpenAI error
/// type the Gateway should use, so that mapping lives next to the cases.
public enum BackendError: Error, Equatable, CustomStringConvertible, Sendable {
    case modelNotFound(String, available: [String])
    /// A bad request: `param` names the offending field when there is one.
    case invalidRequest(String, param: String?)
    case contextLengthExceeded(String)
    /// Too many requests waiting for the model.
    case busy(String, retryAfterSeconds: Int)
    case loadFailed(model: String, reason: String)
    /// The model was unloaded or the server is stopping.
    case unavailable(String)
    case internalError(String)
    /// The output reached a point where the request's grammar (response_format, `grammar`, a
    /// forced tool call; named by `param`) allows no token of the model's vocabulary.
    case grammarDeadEnd(String, param: String?)

    public var description: String {
        switch self {
        case let .modelNotFound(name, available):
            available.isEmpty
                ? "The model '\(name)' does not exist or is not served here."
                : "The model '\(name)' does not exist or is not served here; this server has: \(available.joined(separator: ", "))."
        case let .invalidRequest(message, _), let .contextLengthExceeded(message), let .busy(message, _),
             let .unavailable(message), let .internalError(message), let .grammarDeadEnd(message, _):
            message
        case let .loadFailed(model, reason):
            "The model '\(model)' could not be loaded: \(reason)"
        }
    }

    /// The HTTP status OpenAI uses for this kind of error.
    public var httpStatus: Int {
        switch self {
        case .modelNotFound: 404
        case .invalidRequest, .contextLengthExceeded: 400
        case .busy: 429
        // Not the client's fault as far as the server can tell (its grammar compiled, and with
        // sampling another draw may get through), and not a valid answer either: a server error.
        case .loadFailed, .internalError, .grammarDeadEnd: 500
        case .unavailable: 503
        }
    }

    /// OpenAI's `error.type`.
    public var type: String {
        switch self {
        case .modelNotFound, .invalidRequest, .contextLengthExceeded: "invalid_request_error"
        case .busy: "rate_limit_error"
        case .loadFailed, .internalError, .unavailable, .grammarDeadEnd: "server_error"
        }
    }

    /// OpenAI's `error.code`.
    public var code: String? {
        switch self {
        case .modelNotFound: "model_not_found"
        case .contextLengthExceeded: "context_length_exceeded"
        case .busy: "rate_limit_exceeded"
        case .invalidRequest: nil
        case .grammarDeadEnd: "grammar_dead_end"
        case .loadFailed, .internalError, .unavailable: nil
        }
    }

    public var param: String? {
        switch self {
        case .modelNotFound: "model"
        case let .invalidRequest(_, param), let .grammarDeadEnd(_, param): param
        case .contextLengthExceeded: "messages"
        default: nil
        }
    }

    /// The scheduler's refusal in the backend's terms.
    public init(_ error: SchedulerError) {
        switch error {
        case .queueFull(_, let retry):
            self = .busy(error.description, retryAfterSeconds: retry)
        case .contextExceeded:
            self = .contextLengthExceeded(error.description)
        case .emptyPrompt:
            self = .invalidRequest(error.description, param: "prompt")
        case .promptTokenOutOfRange:
            self = .invalidRequest(error.description, param: "prompt")
        case .invalidParameters(let p):
            self = .invalidRequest(p.description, param: Self.param(of: p))
        case .modelFailed:
            self = .internalError(error.description)
        case .shutDown:
            self = .unavailable(error.description)
        }
    }

    /// The request field a parameter error is about, as OpenAI spells it.
    static func param(of error: GenerateParametersError) -> String {
        switch error {
        case .invalidTemperature: "temperature"
        case .invalidTopK: "top_k"
        case .invalidTopP: "top_p"
        case .invalidMinP: "min_p"
        case .invalidRepetitionPenalty: "repetition_penalty"
        case .invalidPenaltyWindow: "repeat_last_n"
        case .invalidPresencePenalty: "presence_penalty"
        case .invalidFrequencyPenalty: "frequency_penalty"
        case .logitBiasTokenOutOfRange, .invalidLogitBias: "logit_bias"
        case .invalidMaxTokens: "max_tokens"
        case .emptyStopString: "stop"
        case .invalidTopLogprobs, .topLogprobsWithoutLogprobs: "top_logprobs"
        case .invalidGrammar: "response_format"
        }
    }
}
