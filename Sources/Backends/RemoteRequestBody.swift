// Backend requests → the JSON bodies an OpenAI-compatible server expects. Always streamed, with
// usage asked for, so that a remote's answer reaches the client token by token and its counts
// are reported as the remote gave them.

import ChatTemplates
import Inference

enum RemoteRequestBody {
    static func chat(_ request: ChatRequest, model: String) -> TemplateValue {
        var fields: [(String, TemplateValue)] = [("model", .string(model)), ("messages", .array(request.messages))]
        if let tools = request.tools, !tools.isEmpty {
            fields.append(("tools", .array(tools)))
            fields.append(("tool_choice", toolChoice(request.toolChoice)))
            if !request.parallelToolCalls { fields.append(("parallel_tool_calls", false)) }
        }
        fields += common(request.parameters, n: request.n)
        if request.parameters.logprobs {
            fields.append(("logprobs", true))
            if request.parameters.topLogprobs > 0 { fields.append(("top_logprobs", .int(request.parameters.topLogprobs))) }
        }
        if let maxTokens = request.parameters.maxTokens { fields.append(("max_tokens", .int(maxTokens))) }
        if let user = request.user { fields.append(("user", .string(user))) }
        return .object(fields)
    }

    static func completion(_ request: CompletionRequest, model: String) -> TemplateValue {
        var fields: [(String, TemplateValue)] = [("model", .string(model)), ("prompt", prompt(request.prompts))]
        fields += common(request.parameters, n: request.n)
        if request.parameters.logprobs { fields.append(("logprobs", .int(request.parameters.topLogprobs))) }
        // Completions default to 16 tokens at OpenAI; the Gateway has already applied that.
        if let maxTokens = request.parameters.maxTokens { fields.append(("max_tokens", .int(maxTokens))) }
        if request.echo { fields.append(("echo", true)) }
        if let user = request.user { fields.append(("user", .string(user))) }
        return .object(fields)
    }

    static func toolChoice(_ choice: ToolChoice) -> TemplateValue {
        switch choice {
        case .auto: "auto"
        case .none: "none"
        case .required: "required"
        case .function(let name): .object([("type", "function"), ("function", .object([("name", .string(name))]))])
        }
    }

    /// One prompt as a string or an id list; several as a list of them.
    static func prompt(_ prompts: [PromptInput]) -> TemplateValue {
        func one(_ p: PromptInput) -> TemplateValue {
            switch p {
            case .text(let s): .string(s)
            case .tokens(let ids): .array(ids.map { .int($0) })
            }
        }
        return prompts.count == 1 ? one(prompts[0]) : .array(prompts.map(one))
    }

    /// Sampling, stops and streaming, shared by both endpoints. The extensions OpenAI lacks
    /// (top_k, min_p, repetition_penalty; vLLM, llama-server and Ollama read them) are sent only
    /// when they differ from Studio's defaults: a request that did not set them then gets the
    /// remote's own defaults, and a strict server that rejects unknown fields still accepts it.
    static func common(_ p: GenerateParameters, n: Int) -> [(String, TemplateValue)] {
        var fields: [(String, TemplateValue)] = [
            ("stream", true),
            ("stream_options", .object([("include_usage", true)])),
            ("temperature", number(p.temperature)),
            ("top_p", number(p.topP)),
        ]
        if n != 1 { fields.append(("n", .int(n))) }
        let defaults = GenerateParameters()
        if p.topK != defaults.topK { fields.append(("top_k", .int(p.topK))) }
        if p.minP != defaults.minP { fields.append(("min_p", number(p.minP))) }
        if p.repetitionPenalty != defaults.repetitionPenalty { fields.append(("repetition_penalty", number(p.repetitionPenalty))) }
        if p.presencePenalty != 0 { fields.append(("presence_penalty", number(p.presencePenalty))) }
        if p.frequencyPenalty != 0 { fields.append(("frequency_penalty", number(p.frequencyPenalty))) }
        if let seed = p.seed { fields.append(("seed", .int(Int(Int64(bitPattern: seed))))) }
        if !p.stop.isEmpty { fields.append(("stop", .array(p.stop.map { .string($0) }))) }
        if !p.logitBias.isEmpty {
            let bias = p.logitBias.sorted { $0.key < $1.key }.map { (id, b) -> (String, TemplateValue) in
                (String(id), b == -.infinity ? .int(-100) : number(b))
            }
            fields.append(("logit_bias", .object(bias)))
        }
        return fields
    }

    /// A Float as the shortest decimal that reads back as the same Float (0.7, not 0.699999988).
    static func number(_ x: Float) -> TemplateValue {
        .double(Double("\(x)") ?? Double(x))
    }
}
