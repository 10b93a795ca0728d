// OpenAI request bodies → backend requests. Every documented parameter is read with its type
// checked; out-of-range values get a 400 naming the parameter. Fields we do not know are
// ignored, as OpenAI ignores them.

import Backends
import ChatTemplates
import Inference

/// A parsed `/v1/chat/completions` body.
struct ChatCompletionBody {
    var request: ChatRequest
    var stream: Bool
    var includeUsage: Bool
}

/// A parsed `/v1/completions` body.
struct CompletionBody {
    var request: CompletionRequest
    var stream: Bool
    var includeUsage: Bool
    /// The legacy `logprobs` integer (alternatives per token), when asked for.
    var logprobs: Int?
}

enum OpenAIRequests {
    /// The most choices one request may ask for (OpenAI's limit).
    static let maxChoices = 128

    static func chat(_ f: RequestFields) throws(APIError) -> ChatCompletionBody {
        guard let model = try f.string("model") else { throw .missing("model") }
        guard let messages = try f.array("messages") else { throw .missing("messages") }
        guard !messages.isEmpty else {
            throw .invalidValue("messages", "'messages' must contain at least one message.")
        }
        for (i, m) in messages.enumerated() {
            guard case .object(let o) = m else { throw .wrongType("messages[\(i)]", expected: "an object") }
            guard case .string? = o["role"] else {
                throw o["role"] == nil ? .missing("messages[\(i)].role") : .wrongType("messages[\(i)].role", expected: "a string")
            }
            switch o["content"] {
            case nil, .null?, .string?: break
            case .array(let parts)?:
                for (j, part) in parts.enumerated() {
                    guard case .object(let p) = part, case .string? = p["type"] else {
                        throw .wrongType("messages[\(i)].content[\(j)]", expected: "an object with a 'type'")
                    }
                }
            default: throw .wrongType("messages[\(i)].content", expected: "a string or an array of content parts")
            }
        }
        let tools = try toolList(f)
        let toolChoice = try toolChoice(f, tools: tools)
        let parallel = try f.bool("parallel_tool_calls") ?? true
        var parameters = try sampling(f)
        parameters.grammar = try outputFormat(f)
        if parameters.grammar != nil, toolChoice == .required || { if case .function = toolChoice { true } else { false } }() {
            throw .invalidValue("tool_choice", "'tool_choice' that forces a call cannot be combined with 'response_format' or 'grammar'.")
        }
        let logprobs = try f.bool("logprobs") ?? false
        let top = try f.int("top_logprobs")
        if let top, !(0...GenerateParameters.maxTopLogprobs).contains(top) {
            throw .invalidValue("top_logprobs", "'top_logprobs' must be between 0 and \(GenerateParameters.maxTopLogprobs), got \(top).")
        }
        if let top, top > 0, !logprobs {
            throw .invalidValue("top_logprobs", "'top_logprobs' needs 'logprobs' set to true.")
        }
        parameters.logprobs = logprobs
        parameters.topLogprobs = top ?? 0
        let newer = try f.int("max_completion_tokens")
        let older = try f.int("max_tokens")
        let maxTokens = newer ?? older
        try setMaxTokens(maxTokens, into: &parameters, param: f.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens")
        let (stream, usage) = try streaming(f)
        var variables: [String: TemplateValue] = [:]
        if let v = try f.object("variables") {
            for (key, value) in v.object.pairs { variables[key] = value }
        }
        return ChatCompletionBody(
            request: ChatRequest(model: model, messages: messages, tools: tools, parameters: parameters, n: try choices(f),
                                 variables: variables, toolChoice: toolChoice, parallelToolCalls: parallel, user: try f.string("user")),
            stream: stream, includeUsage: usage)
    }

    static func completion(_ f: RequestFields) throws(APIError) -> CompletionBody {
        guard let model = try f.string("model") else { throw .missing("model") }
        guard f.has("prompt") else { throw .missing("prompt") }
        let prompts = try prompts(f.object["prompt"] ?? .null)
        var parameters = try sampling(f)
        let logprobs = try f.int("logprobs")
        if let logprobs {
            guard (0...5).contains(logprobs) else {
                throw .invalidValue("logprobs", "'logprobs' must be between 0 and 5, got \(logprobs).")
            }
            parameters.logprobs = true
            parameters.topLogprobs = logprobs
        }
        let echo = try f.bool("echo") ?? false
        let maxTokens = try f.int("max_tokens") ?? 16
        if echo && maxTokens == 0 {
            parameters.maxTokens = 0  // the prompt alone, echoed (with its logprobs): how a text is scored
        } else {
            try setMaxTokens(maxTokens, into: &parameters, param: "max_tokens")
        }
        _ = try f.string("suffix")
        let (stream, usage) = try streaming(f)
        return CompletionBody(
            request: CompletionRequest(model: model, prompts: prompts, parameters: parameters, n: try choices(f), echo: echo,
                                       user: try f.string("user")),
            stream: stream, includeUsage: usage, logprobs: logprobs)
    }

    /// `prompt`: a string, an array of strings, an array of token ids, or an array of arrays of ids.
    static func prompts(_ value: TemplateValue) throws(APIError) -> [PromptInput] {
        let expected = "a string, an array of strings, or an array of token ids"
        switch value {
        case .string(let s): return [.text(s)]
        case .array(let items):
            guard !items.isEmpty else { throw .invalidValue("prompt", "'prompt' must not be empty.") }
            if items.allSatisfy({ if case .string = $0 { true } else { false } }) {
                return items.map { if case .string(let s) = $0 { .text(s) } else { .text("") } }
            }
            if let ids = tokenIDs(items) { return [.tokens(ids)] }
            var out: [PromptInput] = []
            for item in items {
                guard case .array(let inner) = item, let ids = tokenIDs(inner) else { throw .wrongType("prompt", expected: expected) }
                out.append(.tokens(ids))
            }
            return out
        default: throw .wrongType("prompt", expected: expected)
        }
    }

    private static func tokenIDs(_ items: [TemplateValue]) -> [Int]? {
        var ids: [Int] = []
        for item in items {
            guard case .int(let i) = item else { return nil }
            ids.append(i)
        }
        return ids
    }

    /// The sampling parameters both endpoints share. Unset ones keep llama-server's defaults.
    static func sampling(_ f: RequestFields) throws(APIError) -> GenerateParameters {
        var p = GenerateParameters()
        if let t = try f.number("temperature", in: 0...2) { p.temperature = t }
        if let v = try f.number("top_p", in: 0...1) {
            guard v > 0 else { throw .invalidValue("top_p", "'top_p' must be greater than 0, got 0.") }
            p.topP = v
        }
        if let k = try f.int("top_k") {
            guard k >= 0 else { throw .invalidValue("top_k", "'top_k' must be 0 or more, got \(k).") }
            p.topK = k
        }
        if let v = try f.number("min_p", in: 0...1) { p.minP = v }
        if let v = try f.number("presence_penalty", in: -2...2) { p.presencePenalty = v }
        if let v = try f.number("frequency_penalty", in: -2...2) { p.frequencyPenalty = v }
        let repetition = try f.number("repetition_penalty", in: 0.01...10)
        let repeatPenalty = try f.number("repeat_penalty", in: 0.01...10)
        if let v = repetition ?? repeatPenalty { p.repetitionPenalty = v }
        if let seed = try f.int("seed") { p.seed = UInt64(bitPattern: Int64(seed)) }
        if let stop = try f.strings("stop") {
            guard stop.count <= 16 else { throw .invalidValue("stop", "'stop' may hold at most 16 strings, got \(stop.count).") }
            p.stop = stop.filter { !$0.isEmpty }
        }
        if let bias = try f.object("logit_bias") {
            var out: [Int: Float] = [:]
            for (key, value) in bias.object.pairs {
                guard let id = Int(key), id >= 0 else {
                    throw .invalidValue("logit_bias", "'logit_bias' keys must be token ids, got '\(key)'.")
                }
                let b: Double
                switch value {
                case .int(let i): b = Double(i)
                case .double(let d): b = d
                default: throw .wrongType("logit_bias.\(key)", expected: "a number")
                }
                guard (-100...100).contains(b) else {
                    throw .invalidValue("logit_bias", "'logit_bias' values must be between -100 and 100, got \(RequestFields.show(b)).")
                }
                out[id] = b == -100 ? -.infinity : Float(b)
            }
            p.logitBias = out
        }
        _ = try f.string("user")
        return p
    }

    // MARK: - tools and output formats

    /// What OpenAI allows in a function name.
    static let functionNameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-".unicodeScalars)

    /// `tools`: `[{"type": "function", "function": {"name", "description"?, "parameters"?}}]`,
    /// passed on as given (the chat template prints them) once their shape is checked.
    static func toolList(_ f: RequestFields) throws(APIError) -> [TemplateValue]? {
        guard let tools = try f.array("tools") else { return nil }
        var names: Set<String> = []
        for (i, tool) in tools.enumerated() {
            let path = "tools[\(i)]"
            guard case .object(let t) = tool else { throw .wrongType(path, expected: "an object") }
            let fields = RequestFields(t, prefix: path + ".")
            guard let type = try fields.string("type") else { throw .missing(path + ".type") }
            guard type == "function" else {
                throw .invalidValue(path + ".type", "'\(path).type' must be 'function', got '\(type)'.")
            }
            guard let function = try fields.object("function") else { throw .missing(path + ".function") }
            guard let name = try function.string("name") else { throw .missing(path + ".function.name") }
            guard !name.isEmpty, name.count <= 64, name.unicodeScalars.allSatisfy(Self.functionNameCharacters.contains) else {
                throw .invalidValue(path + ".function.name",
                                    "'\(path).function.name' must be 1 to 64 letters, digits, underscores or dashes, got '\(name)'.")
            }
            guard names.insert(name).inserted else {
                throw .invalidValue(path + ".function.name", "Two tools are named '\(name)'; tool names must be unique.")
            }
            _ = try function.string("description")
            _ = try function.object("parameters")
            _ = try function.bool("strict")
        }
        return tools
    }

    /// `tool_choice`: "auto", "none", "required", or `{"type": "function", "function": {"name"}}`.
    static func toolChoice(_ f: RequestFields, tools: [TemplateValue]?) throws(APIError) -> ToolChoice {
        let names = (tools ?? []).compactMap { ToolFunction(tool: $0)?.name }
        let choice: ToolChoice
        switch f.object["tool_choice"] {
        case nil, .null?:
            return .auto
        case .string(let s)?:
            switch s {
            case "auto": choice = .auto
            case "none": choice = .none
            case "required": choice = .required
            default:
                throw .invalidValue("tool_choice", "'tool_choice' must be 'auto', 'none', 'required' or a function object, got '\(s)'.")
            }
        case .object(let o)?:
            let fields = RequestFields(o, prefix: "tool_choice.")
            guard try fields.string("type") == "function" else {
                throw .invalidValue("tool_choice.type", "'tool_choice.type' must be 'function'.")
            }
            guard let function = try fields.object("function") else { throw .missing("tool_choice.function") }
            guard let name = try function.string("name") else { throw .missing("tool_choice.function.name") }
            guard names.contains(name) else {
                throw .invalidValue("tool_choice", "'tool_choice' names the function '\(name)', which is not among 'tools'.")
            }
            choice = .function(name)
        default:
            throw .wrongType("tool_choice", expected: "a string or an object")
        }
        if choice == .required && names.isEmpty {
            throw .invalidValue("tool_choice", "'tool_choice' is 'required' but the request has no 'tools'.")
        }
        return choice
    }

    /// `response_format` and the `grammar` extension (GBNF text) → the grammar the output must
    /// follow. A schema or grammar that cannot be compiled is a 400 saying why.
    static func outputFormat(_ f: RequestFields) throws(APIError) -> GrammarSpec? {
        var spec: GrammarSpec?
        var param = "response_format"
        if let format = try f.object("response_format") {
            guard let type = try format.string("type") else { throw .missing("response_format.type") }
            switch type {
            case "text":
                break
            case "json_object":
                spec = .jsonObject
            case "json_schema":
                guard let js = try format.object("json_schema") else { throw .missing("response_format.json_schema") }
                guard try js.string("name") != nil else { throw .missing("response_format.json_schema.name") }
                _ = try js.string("description")
                _ = try js.bool("strict")
                let schema = try js.object("schema")
                spec = .jsonSchema(schema.map { TemplateValue.object($0.object).jsonString } ?? "{}")
            default:
                throw .invalidValue("response_format.type",
                                    "'response_format.type' must be 'text', 'json_object' or 'json_schema', got '\(type)'.")
            }
        }
        if let gbnf = try f.string("grammar") {
            guard spec == nil else {
                throw .invalidValue("grammar", "Send either 'grammar' or a JSON 'response_format', not both.")
            }
            spec = .gbnf(gbnf)
            param = "grammar"
        }
        if let spec {
            do {
                _ = try spec.compile()
            } catch {
                throw APIError(status: .badRequest, message: error.description, param: param, code: "invalid_grammar")
            }
        }
        return spec
    }

    static func setMaxTokens(_ value: Int?, into p: inout GenerateParameters, param: String) throws(APIError) {
        guard let value else { return }
        guard value >= 1 else { throw .invalidValue(param, "'\(param)' must be at least 1, got \(value).") }
        p.maxTokens = value
    }

    static func choices(_ f: RequestFields) throws(APIError) -> Int {
        let n = try f.int("n") ?? 1
        guard (1...maxChoices).contains(n) else {
            throw .invalidValue("n", "'n' must be between 1 and \(maxChoices), got \(n).")
        }
        return n
    }

    static func streaming(_ f: RequestFields) throws(APIError) -> (stream: Bool, includeUsage: Bool) {
        let stream = try f.bool("stream") ?? false
        let usage = try f.object("stream_options")?.bool("include_usage") ?? false
        return (stream, usage)
    }
}
