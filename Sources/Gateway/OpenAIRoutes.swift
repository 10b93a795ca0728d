// The `/v1` surface: models, chat completions and text completions, streaming (SSE) and not.
// Handlers only map HTTP to the backend: read and check the body, call the backend, shape the
// answer.

import Backends
import ChatTemplates
import Hummingbird

struct OpenAIRoutes<Context: RequestContext>: Sendable {
    let backend: any ChatBackend
    let metrics: GatewayMetrics

    func register(on group: RouterGroup<Context>) {
        group.get("models") { _, _ in try await listModels() }
        group.get("models/{id}") { _, context in try await model(context.parameters.require("id")) }
        group.post("chat/completions") { request, context in try await chat(request, context: context) }
        group.post("completions") { request, context in try await completion(request, context: context) }
    }

    // MARK: - models

    func listModels() async throws -> Response {
        let models = await backend.models()
        return Self.json(.object([("object", "list"), ("data", .array(models.map(Self.modelObject)))]))
    }

    func model(_ id: String) async throws -> Response {
        guard let m = await backend.models().first(where: { $0.id == id }) else {
            throw APIError(BackendError.modelNotFound(id, available: []))
        }
        return Self.json(Self.modelObject(m))
    }

    static func modelObject(_ m: BackendModel) -> TemplateValue {
        .object([("id", .string(m.id)), ("object", "model"), ("created", .int(m.created)), ("owned_by", .string(m.ownedBy))])
    }

    // MARK: - completions

    func chat(_ request: Request, context: Context) async throws -> Response {
        let start = ContinuousClock.now
        let body = try OpenAIRequests.chat(try await Self.fields(request, context: context))
        let response = try await backend.chat(body.request)
        let shaper = ResponseShaper(kind: .chat, model: response.model, logprobs: body.request.parameters.logprobs)
        let forcedCall = switch body.request.toolChoice {
        case .required, .function: true
        case .auto, .none: false
        }
        let constrained = body.request.parameters.grammar != nil || forcedCall
        return try await respond(response, shaper: shaper, stream: body.stream, includeUsage: body.includeUsage, start: start,
                                 wholeBeforeStatus: constrained)
    }

    func completion(_ request: Request, context: Context) async throws -> Response {
        let start = ContinuousClock.now
        let body = try OpenAIRequests.completion(try await Self.fields(request, context: context))
        let response = try await backend.completion(body.request)
        let shaper = ResponseShaper(kind: .completion, model: response.model, logprobs: body.logprobs != nil)
        return try await respond(response, shaper: shaper, stream: body.stream, includeUsage: body.includeUsage, start: start)
    }

    /// The request body as JSON fields, within the size limit.
    static func fields(_ request: Request, context: Context) async throws -> RequestFields {
        let limit = Gateway.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw ErrorMiddleware<Context>.tooLarge
        }
        let buffer = try await request.body.collect(upTo: limit)
        return try RequestFields.parse(Array(buffer.readableBytesView))
    }

    private func respond(
        _ response: BackendResponse, shaper: ResponseShaper, stream: Bool, includeUsage: Bool, start: ContinuousClock.Instant,
        wholeBeforeStatus: Bool = false
    ) async throws -> Response {
        if stream {
            return streamed(response, shaper: shaper, includeUsage: includeUsage, start: start)
        }
        // Constrained output (response_format, grammar, a forced tool call) may meet a grammar
        // dead end after its first token; such an answer is not valid, and a client that did not
        // stream must get an error status for it, not an error object in a 200 body. So its status
        // line waits for the whole answer. The price: a client that hangs up meanwhile is not
        // noticed (no heartbeat can be written before the status), and its generation runs to its
        // end, which max_tokens and the context bound.
        if wholeBeforeStatus {
            let metrics = self.metrics
            let whole = try await Self.wholeAnswer(response) { metrics.timeToFirstToken(Self.seconds(since: start)) }
            return collected(whole, shaper: shaper, start: start, sawFirstToken: true)
        }
        // The status line waits for the first event, so a failure before any output (a model
        // failing in prefill, a remote's stream breaking) gets its own status instead of 200.
        return collected(try await response.afterFirstEvent(), shaper: shaper, start: start)
    }

    /// A whole (non-streamed) response, started once the generation has produced its first
    /// event. Its body is written when the generation ends; meanwhile a space is written every
    /// second (JSON allows leading whitespace) so that a client that hung up is noticed and its
    /// generation cancelled instead of running to the end. A failure after the first event
    /// (rare) can then only be reported as an error object in a 200 body.
    private func collected(_ response: BackendResponse, shaper: ResponseShaper, start: ContinuousClock.Instant,
                           sawFirstToken: Bool = false) -> Response {
        let metrics = self.metrics
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { writer in
            var finished = false
            defer { if !finished { response.cancel() } }
            var choices = [ChoiceAccumulator](repeating: ChoiceAccumulator(), count: response.choices)
            // A remote that reports no usage leaves it unknown: the body omits it rather than say 0.
            var usage: BackendUsage?
            var sawFirst = sawFirstToken
            var lastBeat = ContinuousClock.now
            do {
                for try await event in response.events {
                    switch event {
                    case let .text(choice, text, logprobs, tokens):
                        if tokens > 0 && !sawFirst {
                            sawFirst = true
                            metrics.timeToFirstToken(Self.seconds(since: start))
                        }
                        choices[choice].text += text
                        if let logprobs { choices[choice].logprobs.append(logprobs) }
                    case let .prompt(choice, text, logprobs):
                        choices[choice].text += text
                        choices[choice].logprobs += logprobs ?? []
                    case let .toolCall(choice, index, call):
                        choices[choice].addToolCall(call, index: index)
                    case let .reasoning(choice, text):
                        choices[choice].reasoning += text
                    case let .finish(choice, reason):
                        choices[choice].finish = reason
                    case let .usage(u):
                        usage = u
                    }
                    if ContinuousClock.now - lastBeat > .seconds(1) {
                        lastBeat = .now
                        try await writer.write(ByteBuffer(string: " "))
                    }
                }
            } catch let error as BackendError {
                finished = true
                try await writer.write(ByteBuffer(string: JSONText.encode(APIError(error).json)))
                try await writer.finish(nil)
                return
            }
            finished = true
            if let usage { metrics.tokens(usage) }
            metrics.latency(Self.seconds(since: start))
            try await writer.write(ByteBuffer(string: JSONText.encode(shaper.response(choices, usage: usage))))
            try await writer.finish(nil)
        })
    }

    private func streamed(_ response: BackendResponse, shaper: ResponseShaper, includeUsage: Bool, start: ContinuousClock.Instant) -> Response {
        let metrics = self.metrics
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var finished = false
            defer { if !finished { response.cancel() } }
            func send(_ value: TemplateValue) async throws {
                try await writer.write(ByteBuffer(string: "data: " + JSONText.encode(value) + "\n\n"))
            }
            if shaper.kind == .chat {
                for choice in 0..<response.choices { try await send(shaper.roleChunk(choice: choice, includeUsage: includeUsage)) }
            }
            var offsets = [Int](repeating: 0, count: response.choices)
            let templates = (0..<response.choices).map { TextChunkTemplate(shaper: shaper, choice: $0, includeUsage: includeUsage) }
            var sawFirst = false
            var startedCalls = [Int](repeating: 0, count: response.choices)
            do {
                for try await event in response.events {
                    switch event {
                    case let .text(choice, text, logprobs, tokens):
                        if tokens > 0 && !sawFirst {
                            sawFirst = true
                            metrics.timeToFirstToken(Self.seconds(since: start))
                        }
                        if text.isEmpty && logprobs == nil { continue }
                        if logprobs == nil, let template = templates[choice] {
                            try await writer.write(ByteBuffer(string: template.event(text)))
                        } else {
                            try await send(shaper.textChunk(choice: choice, text: text, logprob: logprobs, textOffset: offsets[choice],
                                                            includeUsage: includeUsage))
                        }
                        offsets[choice] += text.count
                    case let .prompt(choice, text, logprobs):
                        try await send(shaper.promptChunk(choice: choice, text: text, logprobs: logprobs, includeUsage: includeUsage))
                        offsets[choice] += text.count
                    case let .toolCall(choice, index, call):
                        let starts = index >= startedCalls[choice]
                        if starts { startedCalls[choice] = index + 1 }
                        for chunk in shaper.toolCallChunks(choice: choice, index: index, call: call, starts: starts,
                                                           includeUsage: includeUsage) {
                            try await send(chunk)
                        }
                    case let .reasoning(choice, text):
                        if let chunk = shaper.reasoningChunk(choice: choice, text: text, includeUsage: includeUsage) { try await send(chunk) }
                    case let .finish(choice, reason):
                        try await send(shaper.finishChunk(choice: choice, reason: reason, includeUsage: includeUsage))
                    case let .usage(u):
                        metrics.tokens(u)
                        if includeUsage { try await send(shaper.usageChunk(u)) }
                    }
                }
            } catch let error as BackendError {
                try await send(APIError(error).json)
            }
            finished = true
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            metrics.latency(Self.seconds(since: start))
            try await writer.finish(nil)
        })
    }

    /// Every event of an answer, gathered before anything is sent (a failure is thrown here);
    /// `firstToken` runs when the first generated token arrives.
    static func wholeAnswer(_ response: BackendResponse, firstToken: () -> Void) async throws -> BackendResponse {
        var events: [BackendEvent] = []
        var sawFirst = false
        try await withTaskCancellationHandler {
            for try await event in response.events {
                if !sawFirst, case .text(_, _, _, let tokens) = event, tokens > 0 {
                    sawFirst = true
                    firstToken()
                }
                events.append(event)
            }
        } onCancel: {
            response.cancel()
        }
        let (stream, continuation) = AsyncThrowingStream<BackendEvent, any Error>.makeStream()
        for event in events { continuation.yield(event) }
        continuation.finish()
        return BackendResponse(model: response.model, choices: response.choices, promptTokens: response.promptTokens, events: stream)
    }

    static func json(_ value: TemplateValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: JSONText.encode(value))))
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
