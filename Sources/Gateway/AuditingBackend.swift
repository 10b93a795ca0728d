import Backends
import ChatTemplates
import Foundation
import Inference
import Store
import Synchronization

/// A ChatBackend decorator that writes each generation's audit record: what was asked (messages
/// or prompt, parameters), the text generated, tokens, latency and time to first token. The
/// record is written *before* the final usage event is passed on, so any client that received
/// a complete response is in the log even if the server dies right after. It also charges the
/// tokens to the key's tokens-per-minute budget. Requests without a `RequestTrace` (in-process
/// use, no middleware) pass straight through.
struct AuditingBackend: ChatBackend {
    let base: any ChatBackend
    let audit: any AuditRepository
    let redactor: Redactor?
    let limiter: RateLimiter?

    func models() async -> [BackendModel] { await base.models() }
    func statistics() async -> [BackendModelStats] { await base.statistics() }

    func chat(_ request: ChatRequest) async throws -> BackendResponse {
        let response = try await base.chat(request)
        guard let trace = RequestTrace.current else { return response }
        var parameters = Self.parameters(request.parameters, n: request.n)
        if !request.variables.isEmpty { parameters.append(("variables", .object(TemplateObject(request.variables.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })))) }
        if let tools = request.tools { parameters.append(("tools", .int(tools.count))) }
        return wrap(response, trace: trace, model: request.model, parameters: parameters,
                    requestText: TemplateValue.array(request.messages).jsonString)
    }

    func completion(_ request: CompletionRequest) async throws -> BackendResponse {
        let response = try await base.completion(request)
        guard let trace = RequestTrace.current else { return response }
        let prompts = TemplateValue.array(request.prompts.map {
            switch $0 {
            case .text(let t): .string(t)
            case .tokens(let ids): .array(ids.map(TemplateValue.int))
            }
        })
        return wrap(response, trace: trace, model: request.model, parameters: Self.parameters(request.parameters, n: request.n),
                    requestText: prompts.jsonString)
    }

    /// The request's parameters under their OpenAI names.
    static func parameters(_ p: GenerateParameters, n: Int) -> [(String, TemplateValue)] {
        var out: [(String, TemplateValue)] = [
            ("temperature", .double(Double(p.temperature))), ("top_p", .double(Double(p.topP))), ("top_k", .int(p.topK)),
            ("min_p", .double(Double(p.minP))), ("n", .int(n)),
        ]
        if let m = p.maxTokens { out.append(("max_tokens", .int(m))) }
        if let s = p.seed { out.append(("seed", .string(String(s)))) }
        if !p.stop.isEmpty { out.append(("stop", .array(p.stop.map(TemplateValue.string)))) }
        if p.presencePenalty != 0 { out.append(("presence_penalty", .double(Double(p.presencePenalty)))) }
        if p.frequencyPenalty != 0 { out.append(("frequency_penalty", .double(Double(p.frequencyPenalty)))) }
        if p.repetitionPenalty != 1 { out.append(("repetition_penalty", .double(Double(p.repetitionPenalty)))) }
        if p.logprobs { out.append(("logprobs", .bool(true))); out.append(("top_logprobs", .int(p.topLogprobs))) }
        return out
    }

    /// Passes the stream through while collecting what the record needs.
    private func wrap(_ response: BackendResponse, trace: RequestTrace, model: String, parameters: [(String, TemplateValue)],
                      requestText: String) -> BackendResponse {
        trace.handOverRecord()
        var parameters = parameters
        if let prompt = trace.prompt { parameters.append(("prompt", .string(prompt))) }
        let draft = AuditRecord(
            requestID: trace.id, time: trace.time, keyID: trace.key.flatMap { $0.id == 0 ? nil : $0.id }, keyName: trace.key?.name,
            method: trace.method, endpoint: trace.path, model: model, status: 200, stream: trace.body?["stream"] == .bool(true),
            parameters: TemplateValue.object(parameters).jsonString, request: redactor?.redact(requestText) ?? requestText)
        let (audit, redactor, limiter, key) = (self.audit, self.redactor, self.limiter, trace.key)
        let written = Once()
        @Sendable func finish(_ texts: [String], reasoning: [String], usage: BackendUsage?, ttft: Double?, status: Int, error: String?) {
            guard written.claim() else { return }
            var r = draft
            let text = texts.joined(separator: "\n\n")
            r.response = redactor?.redact(text) ?? text
            if reasoning.contains(where: { !$0.isEmpty }) {
                let thought = reasoning.joined(separator: "\n\n")
                r.reasoning = redactor?.redact(thought) ?? thought
            }
            // Unknown counts (a remote that reported no usage) stay NULL, not 0.
            r.promptTokens = usage?.promptTokens ?? (response.promptTokens.isEmpty ? nil : response.promptTokens.reduce(0, +))
            r.completionTokens = usage?.completionTokens
            r.latencyMs = trace.elapsedMs
            r.ttftMs = ttft
            r.status = status
            r.error = error
            do { try audit.append(r) } catch { Self.reportFailure(error, trace: trace) }
            if let key, let usage { limiter?.charge(key, tokens: usage.totalTokens) }
        }
        let (stream, continuation) = AsyncThrowingStream<BackendEvent, any Error>.makeStream()
        let pump = Task {
            var texts = [String](repeating: "", count: response.choices)
            var calls = [[ToolCall]](repeating: [], count: response.choices)
            var reasoning = [String](repeating: "", count: response.choices)
            /// Each choice's text, then its calls.
            func record() -> [String] {
                zip(texts, calls).map { text, calls in text + calls.map { "[tool call \($0.name) \($0.arguments)]" }.joined() }
            }
            var ttft: Double?
            do {
                for try await event in response.events {
                    switch event {
                    case let .text(choice, text, _, tokens):
                        if tokens > 0, ttft == nil { ttft = trace.elapsedMs }
                        if texts.indices.contains(choice) { texts[choice] += text }
                    case let .prompt(choice, text, _):
                        if texts.indices.contains(choice) { texts[choice] += text }
                    case .usage(let usage):
                        finish(record(), reasoning: reasoning, usage: usage, ttft: ttft, status: 200, error: nil)
                    case let .toolCall(choice, index, call):
                        guard calls.indices.contains(choice) else { break }
                        if calls[choice].indices.contains(index) {
                            calls[choice][index].arguments += call.arguments
                        } else {
                            calls[choice].append(call)
                        }
                    case let .reasoning(choice, text):
                        if reasoning.indices.contains(choice) { reasoning[choice] += text }
                    case .finish: break
                    }
                    continuation.yield(event)
                }
                // A cancelled pump ends its loop quietly: the client hung up before the end.
                let cancelled = Task.isCancelled
                finish(record(), reasoning: reasoning, usage: nil, ttft: ttft, status: cancelled ? 499 : 200,
                       error: cancelled ? Self.clientLeft : nil)
                continuation.finish()
            } catch {
                let cancelled = Task.isCancelled
                let status = cancelled ? 499 : (error as? BackendError)?.httpStatus ?? 500
                finish(record(), reasoning: reasoning, usage: nil, ttft: ttft, status: status, error: cancelled ? Self.clientLeft : "\(error)")
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { reason in
            if case .cancelled = reason {
                pump.cancel()
                response.cancel()
            }
        }
        return BackendResponse(model: response.model, choices: response.choices, promptTokens: response.promptTokens, events: stream,
                               cancel: {
                                   pump.cancel()
                                   response.cancel()
                               })
    }

    static let clientLeft = "The client went away before the response ended."

    static func reportFailure(_ error: any Error, trace: RequestTrace) {
        FileHandle.standardError.write(Data("studio serve: could not write the audit record of \(trace.id): \(error)\n".utf8))
    }
}

/// True for the first caller of `claim()` only.
private final class Once: Sendable {
    private let claimed = Mutex(false)

    func claim() -> Bool {
        claimed.withLock { c in
            defer { c = true }
            return !c
        }
    }
}
