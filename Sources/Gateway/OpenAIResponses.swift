// Backend events → OpenAI response objects and stream chunks, with OpenAI's field order.

import Backends
import ChatTemplates
import Foundation

/// Which endpoint's shapes to produce.
enum ResponseKind {
    case chat
    case completion
}

/// Builds the JSON of one response: ids and timestamps are fixed at creation so every chunk of
/// a stream shares them.
struct ResponseShaper {
    let kind: ResponseKind
    let id: String
    let created: Int
    let model: String
    /// Whether per-token logprobs were requested.
    let logprobs: Bool

    init(kind: ResponseKind, model: String, logprobs: Bool) {
        self.kind = kind
        self.model = model
        self.logprobs = logprobs
        let hex = (0..<24).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
        id = (kind == .chat ? "chatcmpl-" : "cmpl-") + hex
        created = Int(Date().timeIntervalSince1970)
    }

    var object: String { kind == .chat ? "chat.completion" : "text_completion" }
    var chunkObject: String { kind == .chat ? "chat.completion.chunk" : "text_completion" }

    static func number(_ f: Float) -> TemplateValue {
        guard f.isFinite else { return .double(-9999) }  // OpenAI reports impossible tokens as -9999
        return .double(Double(String(f)) ?? Double(f))
    }

    static func usage(_ u: BackendUsage) -> TemplateValue {
        .object([
            ("prompt_tokens", .int(u.promptTokens)),
            ("completion_tokens", .int(u.completionTokens)),
            ("total_tokens", .int(u.totalTokens)),
            ("prompt_tokens_details", .object([("cached_tokens", .int(u.cachedTokens))])),
        ])
    }

    // MARK: chat logprobs: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}

    static func chatLogprob(_ info: TokenLogprobInfo) -> TemplateValue {
        func entry(_ a: TokenAlternative) -> [(String, TemplateValue)] {
            [("token", .string(a.token)), ("logprob", number(a.logprob)), ("bytes", .array(a.bytes.map { .int(Int($0)) }))]
        }
        return .object(entry(info.chosen) + [("top_logprobs", .array(info.top.map { .object(entry($0)) }))])
    }

    // MARK: completion logprobs: {"tokens", "token_logprobs", "top_logprobs", "text_offset"}

    static func completionLogprobs(_ infos: [TokenLogprobInfo], textOffset start: Int) -> TemplateValue {
        var offsets: [TemplateValue] = []
        var offset = start
        for info in infos {
            offsets.append(.int(offset))
            offset += info.chosen.token.count
        }
        return .object([
            ("tokens", .array(infos.map { .string($0.chosen.token) })),
            ("token_logprobs", .array(infos.map { $0.scored ? number($0.chosen.logprob) : .null })),
            ("top_logprobs", .array(infos.map { info in
                info.scored ? .object(TemplateObject(info.top.map { ($0.token, number($0.logprob)) })) : .null
            })),
            ("text_offset", .array(offsets)),
        ])
    }

    // MARK: whole responses

    /// A finished response (non-streaming); without a known usage the field is left out.
    func response(_ choices: [ChoiceAccumulator], usage: BackendUsage?) -> TemplateValue {
        let items: [TemplateValue] = choices.enumerated().map { index, c in
            switch kind {
            case .chat:
                var message: [(String, TemplateValue)] = [("role", "assistant")]
                if c.toolCalls.isEmpty {
                    message.append(("content", .string(c.text)))
                } else {
                    message.append(("content", c.text.allSatisfy(\.isWhitespace) ? .null : .string(c.text)))
                    message.append(("tool_calls", .array(c.toolCalls.map(Self.toolCall))))
                }
                message.append(("refusal", .null))
                if !c.reasoning.isEmpty { message.append(("reasoning_content", .string(c.reasoning))) }
                return .object([
                    ("index", .int(index)),
                    ("message", .object(message)),
                    ("logprobs", logprobs ? .object([("content", .array(c.logprobs.map(Self.chatLogprob)))]) : .null),
                    ("finish_reason", c.finish.map { .string($0.rawValue) } ?? .null),
                ])
            case .completion:
                return .object([
                    ("text", .string(c.text)),
                    ("index", .int(index)),
                    ("logprobs", logprobs ? Self.completionLogprobs(c.logprobs, textOffset: 0) : .null),
                    ("finish_reason", c.finish.map { .string($0.rawValue) } ?? .null),
                ])
            }
        }
        var fields: [(String, TemplateValue)] = [
            ("id", .string(id)), ("object", .string(object)), ("created", .int(created)), ("model", .string(model)),
            ("choices", .array(items)),
        ]
        if let usage { fields.append(("usage", Self.usage(usage))) }
        fields.append(("system_fingerprint", .string(Gateway.systemFingerprint)))
        return .object(fields)
    }

    // MARK: stream chunks

    private func chunk(_ choices: [TemplateValue], usage: TemplateValue?) -> TemplateValue {
        var pairs: [(String, TemplateValue)] = [
            ("id", .string(id)), ("object", .string(chunkObject)), ("created", .int(created)), ("model", .string(model)),
            ("system_fingerprint", .string(Gateway.systemFingerprint)), ("choices", .array(choices)),
        ]
        if let usage { pairs.append(("usage", usage)) }
        return .object(pairs)
    }

    /// The chat stream's first chunk of a choice: the assistant role, empty content.
    func roleChunk(choice: Int, includeUsage: Bool) -> TemplateValue {
        chunk([.object([
            ("index", .int(choice)), ("delta", .object([("role", "assistant"), ("content", ""), ("refusal", .null)])),
            ("logprobs", .null), ("finish_reason", .null),
        ])], usage: includeUsage ? .null : nil)
    }

    func textChunk(choice: Int, text: String, logprob: TokenLogprobInfo?, textOffset: Int, includeUsage: Bool) -> TemplateValue {
        switch kind {
        case .chat:
            let lp: TemplateValue = logprob.map { .object([("content", .array([Self.chatLogprob($0)]))]) } ?? .null
            return chunk([.object([
                ("index", .int(choice)), ("delta", .object([("content", .string(text))])),
                ("logprobs", lp), ("finish_reason", .null),
            ])], usage: includeUsage ? .null : nil)
        case .completion:
            let lp: TemplateValue = logprob.map { Self.completionLogprobs([$0], textOffset: textOffset) } ?? .null
            return chunk([.object([
                ("text", .string(text)), ("index", .int(choice)), ("logprobs", lp), ("finish_reason", .null),
            ])], usage: includeUsage ? .null : nil)
        }
    }

    /// A completion's echoed prompt, the first chunk of its choice: the prompt's text, and with
    /// logprobs an entry per prompt token (offsets from the prompt's start).
    func promptChunk(choice: Int, text: String, logprobs: [TokenLogprobInfo]?, includeUsage: Bool) -> TemplateValue {
        let lp: TemplateValue = logprobs.map { Self.completionLogprobs($0, textOffset: 0) } ?? .null
        return chunk([.object([
            ("text", .string(text)), ("index", .int(choice)), ("logprobs", lp), ("finish_reason", .null),
        ])], usage: includeUsage ? .null : nil)
    }

    /// A chat chunk with reasoning text in `delta.reasoning_content` (vLLM's field); nil for
    /// text completions, which have no place for it.
    func reasoningChunk(choice: Int, text: String, includeUsage: Bool) -> TemplateValue? {
        guard kind == .chat else { return nil }
        return chunk([.object([
            ("index", .int(choice)), ("delta", .object([("reasoning_content", .string(text))])),
            ("logprobs", .null), ("finish_reason", .null),
        ])], usage: includeUsage ? .null : nil)
    }

    func finishChunk(choice: Int, reason: ChoiceFinishReason, includeUsage: Bool) -> TemplateValue {
        switch kind {
        case .chat:
            return chunk([.object([
                ("index", .int(choice)), ("delta", .object([])), ("logprobs", .null), ("finish_reason", .string(reason.rawValue)),
            ])], usage: includeUsage ? .null : nil)
        case .completion:
            return chunk([.object([
                ("text", ""), ("index", .int(choice)), ("logprobs", .null), ("finish_reason", .string(reason.rawValue)),
            ])], usage: includeUsage ? .null : nil)
        }
    }

    /// A call as `message.tool_calls` lists it.
    static func toolCall(_ call: ToolCall) -> TemplateValue {
        .object([
            ("id", .string(call.id)), ("type", "function"),
            ("function", .object([("name", .string(call.name)), ("arguments", .string(call.arguments))])),
        ])
    }

    /// A call streamed as OpenAI streams one: when the event `starts` the call, a chunk with its
    /// id, type and name (arguments empty); then a chunk with the event's piece of the arguments
    /// (none for an empty piece).
    func toolCallChunks(choice: Int, index: Int, call: ToolCall, starts: Bool = true, includeUsage: Bool) -> [TemplateValue] {
        func delta(_ entry: [(String, TemplateValue)]) -> TemplateValue {
            chunk([.object([
                ("index", .int(choice)),
                ("delta", .object([("tool_calls", .array([.object([("index", .int(index))] + entry)]))])),
                ("logprobs", .null), ("finish_reason", .null),
            ])], usage: includeUsage ? .null : nil)
        }
        var chunks: [TemplateValue] = []
        if starts {
            chunks.append(delta([("id", .string(call.id)), ("type", "function"),
                                 ("function", .object([("name", .string(call.name)), ("arguments", "")]))]))
        }
        if !call.arguments.isEmpty { chunks.append(delta([("function", .object([("arguments", .string(call.arguments))]))])) }
        return chunks
    }

    /// The last chunk when `stream_options.include_usage` is set: no choices, the usage.
    func usageChunk(_ usage: BackendUsage) -> TemplateValue {
        chunk([], usage: Self.usage(usage))
    }
}

/// One choice's text, logprobs and finish reason, gathered from the stream.
struct ChoiceAccumulator {
    var text = ""
    /// A remote reasoning model's thinking, apart from `text`.
    var reasoning = ""
    var toolCalls: [ToolCall] = []
    var logprobs: [TokenLogprobInfo] = []
    var finish: ChoiceFinishReason?

    /// A `.toolCall` event: a new call, or the next fragment of the arguments of call `index`.
    mutating func addToolCall(_ call: ToolCall, index: Int) {
        if toolCalls.indices.contains(index) {
            toolCalls[index].arguments += call.arguments
        } else {
            toolCalls.append(call)
        }
    }
}
