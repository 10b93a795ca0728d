// One streamed chunk of an OpenAI-compatible answer → backend events. Chat chunks carry
// `choices[].delta`, completion chunks `choices[].text`; both may carry logprobs, a
// finish_reason and (in the last chunk) usage. The usage is held back and reported at the end,
// because the backend's stream promises usage as its last event. Streamed tool calls arrive in
// pieces (id and name first, then fragments of the arguments) and are passed on as pieces: a call
// is announced once its arguments begin (or a later call appears, or its choice finishes), then
// each fragment follows, so calls are announced in order and a client streams them as they come.

import ChatTemplates

struct RemoteChunkDecoder {
    enum Kind { case chat, completion }

    let kind: Kind
    let choices: Int
    let remote: String
    /// The usage the remote reported, if it did.
    private(set) var usage: BackendUsage?
    /// A remote call: its id, name and the arguments not passed on yet; its number among the
    /// choice's calls (in order of appearance), and whether it was announced.
    private struct StreamedCall {
        var call = ToolCall(id: "", name: "", arguments: "")
        var number: Int
        var started = false
    }

    /// Tool calls being streamed: choice → the remote's call index → the call.
    private var calls: [Int: [Int: StreamedCall]] = [:]

    init(kind: Kind, choices: Int, remote: String) {
        self.kind = kind
        self.choices = choices
        self.remote = remote
    }

    /// The events of one `data:` payload (not `[DONE]`).
    mutating func events(_ data: String) throws(BackendError) -> [BackendEvent] {
        guard let chunk = try? TemplateValue(jsonString: data), case .object(let object) = chunk else {
            throw .internalError("The remote '\(remote)' sent an event that is not a JSON object: \(data.prefix(200))")
        }
        if object["error"] != nil { throw RemoteErrors.inStream(chunk, remote: remote) }
        if case .object(let u)? = object["usage"] { usage = Self.usage(u) }
        guard case .array(let items)? = object["choices"] else { return [] }
        var events: [BackendEvent] = []
        for item in items {
            guard case .object(let choice) = item else { continue }
            guard case .int(let index)? = choice["index"], (0..<choices).contains(index) else {
                throw .internalError("The remote '\(remote)' sent a choice outside the \(choices) asked for: \(choice["index"]?.jsonString ?? "no index").")
            }
            let text: String
            let logprobs: [TokenLogprobInfo]
            switch kind {
            case .chat:
                let delta = (choice["delta"] ?? choice["message"])?.objectValue
                if case .string(let s)? = delta?["content"] { text = s } else { text = "" }
                logprobs = Self.chatLogprobs(choice["logprobs"])
                // vLLM's reasoning parsers put a reasoning model's thinking apart from its content.
                if case .string(let r)? = delta?["reasoning_content"] ?? delta?["reasoning"], !r.isEmpty {
                    events.append(.reasoning(choice: index, text: r))
                }
            case .completion:
                if case .string(let s)? = choice["text"] { text = s } else { text = "" }
                // OpenAI's legacy arrays, or (llama-server) the chat shape.
                let legacy = Self.completionLogprobs(choice["logprobs"])
                logprobs = legacy.isEmpty ? Self.chatLogprobs(choice["logprobs"]) : legacy
            }
            events += Self.textEvents(choice: index, text: text, logprobs: logprobs)
            if case .array(let parts)? = (choice["delta"] ?? choice["message"])?.objectValue?["tool_calls"] {
                events += gather(parts, choice: index)
            }
            if case .string(let reason)? = choice["finish_reason"] {
                events += finishedCalls(choice: index)
                events.append(.finish(choice: index, reason: ChoiceFinishReason(rawValue: reason) ?? .stop))
            }
        }
        return events
    }

    /// Calls of choices the remote never finished (a stream cut short after its calls).
    mutating func unfinishedCalls() -> [BackendEvent] {
        calls.keys.sorted().flatMap { finishedCalls(choice: $0) }
    }

    /// Streamed pieces of tool calls (`{index, id, function: {name, arguments}}`) as events. A
    /// whole answer's calls have no `index`; their position stands in for it.
    private mutating func gather(_ parts: [TemplateValue], choice: Int) -> [BackendEvent] {
        var events: [BackendEvent] = []
        for (position, part) in parts.enumerated() {
            guard let p = part.objectValue else { continue }
            var index = position
            if case .int(let i)? = p["index"] { index = i }
            if calls[choice]?[index] == nil {
                // A new call: the earlier ones have all their names by now.
                events += announceAll(choice: choice)
                calls[choice, default: [:]][index] = StreamedCall(number: calls[choice]?.count ?? 0)
            }
            var entry = calls[choice]![index]!
            if case .string(let id)? = p["id"], !id.isEmpty { entry.call.id = id }
            if let f = p["function"]?.objectValue {
                if case .string(let name)? = f["name"] { entry.call.name += name }
                if case .string(let args)? = f["arguments"] { entry.call.arguments += args }
            }
            if !entry.call.arguments.isEmpty && (entry.started || !entry.call.name.isEmpty) {
                events.append(announce(&entry, choice: choice))
            }
            calls[choice]![index] = entry
        }
        return events
    }

    /// The call's start (id, name, the arguments so far) the first time, then its next fragment.
    private func announce(_ entry: inout StreamedCall, choice: Int) -> BackendEvent {
        if entry.call.id.isEmpty { entry.call.id = ToolCall.newID() }
        let event = BackendEvent.toolCall(choice: choice, index: entry.number, call: entry.call)
        entry.started = true
        entry.call.arguments = ""
        return event
    }

    /// Announces the choice's calls not announced yet, in order.
    private mutating func announceAll(choice: Int) -> [BackendEvent] {
        guard let entries = calls[choice] else { return [] }
        var events: [BackendEvent] = []
        for (index, var entry) in entries.sorted(by: { $0.value.number < $1.value.number }) where !entry.started {
            events.append(announce(&entry, choice: choice))
            calls[choice]![index] = entry
        }
        return events
    }

    /// The calls of a finished choice not announced yet (calls without arguments).
    private mutating func finishedCalls(choice: Int) -> [BackendEvent] {
        let events = announceAll(choice: choice)
        calls.removeValue(forKey: choice)
        return events
    }

    /// Text events: one per logprob entry when the entries spell the text (each then carries
    /// its own token's text), else the whole text on the first and the rest without text.
    static func textEvents(choice: Int, text: String, logprobs: [TokenLogprobInfo]) -> [BackendEvent] {
        if logprobs.isEmpty {
            return text.isEmpty ? [] : [.text(choice: choice, text: text, logprobs: nil, tokens: 1)]
        }
        if logprobs.map(\.chosen.token).joined() == text {
            return logprobs.map { .text(choice: choice, text: $0.chosen.token, logprobs: $0, tokens: 1) }
        }
        return logprobs.enumerated().map { i, lp in .text(choice: choice, text: i == 0 ? text : "", logprobs: lp, tokens: 1) }
    }

    static func usage(_ u: TemplateObject) -> BackendUsage {
        func int(_ v: TemplateValue?) -> Int {
            switch v {
            case .int(let i)?: i
            case .double(let d)?: Int(exactly: d.rounded()) ?? 0
            default: 0
            }
        }
        let cached = int(u["prompt_tokens_details"]?.objectValue?["cached_tokens"])
        return BackendUsage(promptTokens: int(u["prompt_tokens"]), completionTokens: int(u["completion_tokens"]), cachedTokens: cached)
    }

    /// Chat logprobs: `{"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}`.
    static func chatLogprobs(_ value: TemplateValue?) -> [TokenLogprobInfo] {
        guard case .array(let entries)? = value?.objectValue?["content"] else { return [] }
        return entries.compactMap { entry in
            guard let o = entry.objectValue, let chosen = alternative(o) else { return nil }
            var top: [TokenAlternative] = []
            if case .array(let alts)? = o["top_logprobs"] {
                top = alts.compactMap { $0.objectValue.flatMap(alternative) }
            }
            return TokenLogprobInfo(chosen: chosen, top: top)
        }
    }

    /// Legacy completion logprobs: parallel arrays `tokens`, `token_logprobs`, `top_logprobs`
    /// (a `{token: logprob}` object per position). A null logprob (an echoed prompt's first
    /// token) is kept as an unscored entry.
    static func completionLogprobs(_ value: TemplateValue?) -> [TokenLogprobInfo] {
        guard let o = value?.objectValue, case .array(let tokens)? = o["tokens"],
              case .array(let lps)? = o["token_logprobs"], tokens.count == lps.count else { return [] }
        var tops: [TemplateValue] = []
        if case .array(let t)? = o["top_logprobs"] { tops = t }
        return zip(tokens, lps).enumerated().compactMap { i, pair in
            guard case .string(let token) = pair.0 else { return nil }
            guard let lp = number(pair.1) else {
                guard pair.1 == .null else { return nil }
                return TokenLogprobInfo(chosen: TokenAlternative(token: token, bytes: Array(token.utf8), logprob: 0), top: [], scored: false)
            }
            var top: [TokenAlternative] = []
            if i < tops.count, let alts = tops[i].objectValue {
                top = alts.pairs.compactMap { t, v in number(v).map { TokenAlternative(token: t, bytes: Array(t.utf8), logprob: $0) } }
            }
            return TokenLogprobInfo(chosen: TokenAlternative(token: token, bytes: Array(token.utf8), logprob: lp), top: top)
        }
    }

    private static func alternative(_ o: TemplateObject) -> TokenAlternative? {
        guard case .string(let token)? = o["token"], let lp = number(o["logprob"]) else { return nil }
        var bytes = Array(token.utf8)
        if case .array(let b)? = o["bytes"] {
            bytes = b.compactMap { if case .int(let i) = $0, (0...255).contains(i) { UInt8(i) } else { nil } }
        }
        return TokenAlternative(token: token, bytes: bytes, logprob: lp)
    }

    private static func number(_ v: TemplateValue?) -> Float? {
        switch v {
        case .int(let i)?: Float(i)
        case .double(let d)?: Float(d)
        default: nil
        }
    }
}

fileprivate extension TemplateValue {
    var objectValue: TemplateObject? {
        if case .object(let o) = self { return o }
        return nil
    }
}
