// The local engine as a ChatBackend: several models, each loaded on first use with its own
// Scheduler (continuous batching over `slots` sequences) and unloaded after `keepAlive` without
// requests. A request with `n` choices (or several prompts) becomes one scheduler task per
// choice; their streams are merged into one, and cancelling the merged stream cancels them all.

import ChatTemplates
import Foundation
import Inference
import Synchronization
import Tokenizers

/// A model the local backend can serve.
public struct LocalModelSpec: Sendable {
    /// The name clients use (`model` in requests), e.g. `qwen2.5-coder:0.5b`.
    public var id: String
    /// Other names that pick the same model.
    public var aliases: [String]
    /// Builds the model (mapping its file); called on first use, off the caller's thread.
    public var load: @Sendable () throws -> TextModel

    public init(id: String, aliases: [String] = [], load: @escaping @Sendable () throws -> TextModel) {
        self.id = id
        self.aliases = aliases
        self.load = load
    }

    /// A GGUF file on disk.
    public static func file(id: String, aliases: [String] = [], path: String, threads: Int? = nil) -> LocalModelSpec {
        LocalModelSpec(id: id, aliases: aliases) { try TextModel.load(path: path, threads: threads) }
    }
}

/// The local engine behind the OpenAI API.
public actor LocalBackend: ChatBackend {
    public struct Options: Sendable {
        /// Sequences per model generated at once.
        public var slots: Int
        /// Context per slot (nil: the model's, at most 4096).
        public var contextLength: Int?
        /// Requests that may wait per model before 429.
        public var maxQueued: Int
        public var prefillChunk: Int
        /// Unload a model after this long without requests (nil: never).
        public var keepAlive: Duration?

        public init(slots: Int = 4, contextLength: Int? = nil, maxQueued: Int = 64, prefillChunk: Int = SchedulerConfiguration.defaultPrefillChunk,
                    keepAlive: Duration? = .seconds(300)) {
            self.slots = slots
            self.contextLength = contextLength
            self.maxQueued = maxQueued
            self.prefillChunk = prefillChunk
            self.keepAlive = keepAlive
        }
    }

    /// A model ready to run.
    public final class Engine: Sendable {
        public let model: TextModel
        public let scheduler: Scheduler
        public let prompt: ChatPrompt

        init(model: TextModel, scheduler: Scheduler, prompt: ChatPrompt) {
            self.model = model
            self.scheduler = scheduler
            self.prompt = prompt
        }
    }

    private enum Entry {
        case loading(Task<Engine, any Error>)
        case ready(Engine)
    }

    public let options: Options
    private var specs: [LocalModelSpec]
    /// Models that became servable after start (e.g. pulled through the API), asked for when a
    /// name is not known and when the models are listed.
    private let discover: (@Sendable () -> [LocalModelSpec])?
    private let created: Int
    private var entries: [String: Entry] = [:]
    private var inFlight: [String: Int] = [:]
    private var lastUsed: [String: ContinuousClock.Instant] = [:]
    private var reaper: Task<Void, Never>?

    public init(models: [LocalModelSpec], options: Options = Options(),
                discover: (@Sendable () -> [LocalModelSpec])? = nil) {
        self.specs = models
        self.discover = discover
        self.options = options
        self.created = Int(Date().timeIntervalSince1970)
    }

    // MARK: - ChatBackend

    public func models() -> [BackendModel] {
        addDiscovered()
        return specs.map { spec in
            var loaded = false
            if case .ready? = entries[spec.id] { loaded = true }
            return BackendModel(id: spec.id, created: created, loaded: loaded)
        }
    }

    public func chat(_ request: ChatRequest) async throws -> BackendResponse {
        let spec = try lookup(request.model)
        // Tools are offered (through the template) and parsed unless tool_choice is "none".
        let tools = request.toolChoice == .none ? nil : request.tools.flatMap { $0.isEmpty ? nil : $0 }
        var parameters = request.parameters
        var constraint = Self.constraint(of: parameters.grammar)
        if let grammar = try Self.forcedCallGrammar(request, tools: tools) {
            parameters.grammar = .gbnf(grammar)
            constraint = OutputConstraint(name: "the forced tool call", param: "tool_choice")
        }
        let engine = try await engine(for: spec)
        let prompt: [Int]
        do {
            prompt = try engine.prompt.tokens(messages: ToolMessages.prepared(request.messages), tools: tools)
        } catch .noMessages {
            throw BackendError.invalidRequest(ChatPromptError.noMessages.description, param: "messages")
        } catch {
            throw BackendError.invalidRequest(error.description, param: "messages")
        }
        let names = tools.map { $0.compactMap { ToolFunction(tool: $0)?.name } }
        return try start(spec: spec, engine: engine, model: request.model, prompts: [prompt], parameters: parameters, n: request.n,
                         toolNames: names, constraint: constraint)
    }

    /// What constrains the output, in the request's terms (for a grammar dead end's message).
    struct OutputConstraint: Sendable {
        var name: String
        var param: String?

        func deadEnd(afterTokens n: Int) -> BackendError {
            .grammarDeadEnd("The model could not continue within \(name): after \(n) generated tokens no token of its vocabulary "
                            + "fits what it requires next, so the output cannot be completed validly.", param: param)
        }
    }

    static func constraint(of grammar: GrammarSpec?) -> OutputConstraint {
        switch grammar {
        case .jsonSchema?: OutputConstraint(name: "the JSON schema of 'response_format'", param: "response_format")
        case .jsonObject?: OutputConstraint(name: "'response_format' json_object", param: "response_format")
        case .gbnf?, nil: OutputConstraint(name: "the 'grammar'", param: "grammar")
        }
    }

    /// With tool_choice "required" or a named function, the grammar that makes the output a call.
    static func forcedCallGrammar(_ request: ChatRequest, tools: [TemplateValue]?) throws(BackendError) -> String? {
        let functions = (tools ?? []).compactMap(ToolFunction.init(tool:))
        let forced: [ToolFunction]
        switch request.toolChoice {
        case .auto, .none: return nil
        case .required: forced = functions
        case .function(let name):
            forced = functions.filter { $0.name == name }
            guard !forced.isEmpty else {
                throw .invalidRequest("'tool_choice' names the function '\(name)', which is not among 'tools'.", param: "tool_choice")
            }
        }
        do {
            return try ToolCallGrammar.gbnf(functions: forced, parallel: request.parallelToolCalls && request.toolChoice == .required)
        } catch {
            // The grammar numbers the forced functions; the client numbered all of its tools.
            if case .invalidParameters(_, let name, let cause) = error, let i = functions.firstIndex(where: { $0.name == name }) {
                let named = ToolGrammarError.invalidParameters(index: i, name: name, cause)
                throw .invalidRequest(named.description, param: named.param)
            }
            throw .invalidRequest(error.description, param: error.param)
        }
    }

    public func completion(_ request: CompletionRequest) async throws -> BackendResponse {
        let spec = try lookup(request.model)
        let engine = try await engine(for: spec)
        let prompts = request.prompts.map { input -> [Int] in
            switch input {
            case .text(let s): engine.prompt.encode(s)
            case .tokens(let ids): ids
            }
        }
        var parameters = request.parameters
        var echo: [String]?
        var generates = true
        if request.echo {
            let tokenizer = engine.model.tokenizer
            echo = zip(request.prompts, prompts).map { input, ids in
                if case .text(let s) = input { return s }
                return String(decoding: ids.flatMap { tokenizer.tokenBytes($0) }, as: UTF8.self)
            }
            if parameters.maxTokens == 0 {
                parameters.maxTokens = nil
                generates = false
            }
        }
        return try start(spec: spec, engine: engine, model: request.model, prompts: prompts, parameters: parameters, n: request.n,
                         echo: echo, generates: generates)
    }

    public func statistics() -> [BackendModelStats] {
        loadedEngines().map { id, engine in
            let s = engine.scheduler.stats
            let layout = engine.model.config.cacheLayout(capacity: 1)
            let bytesPerPosition = layout.layers * (layout.keyWidth + layout.valueWidth) * layout.element.byteCount
            return BackendModelStats(
                id: id, queued: s.queued, active: s.active, slots: s.slots, cacheTokensUsed: s.cacheTokensUsed,
                cacheTokensCapacity: s.cacheTokensCapacity, reusedPromptTokens: s.reusedPromptTokens,
                memoryBytes: engine.model.loaded.file.fileSize + s.cacheTokensCapacity * bytesPerPosition,
                ticks: s.ticks, forwardSeconds: s.forwardSeconds, evaluatedTokens: s.evaluatedTokens)
        }
    }

    // MARK: - Models: lookup, lazy load, keep-alive

    private func lookup(_ name: String) throws(BackendError) -> LocalModelSpec {
        if let spec = find(name) { return spec }
        addDiscovered()
        if let spec = find(name) { return spec }
        throw .modelNotFound(name, available: specs.map(\.id))
    }

    private func find(_ name: String) -> LocalModelSpec? {
        specs.first { $0.id == name || $0.aliases.contains(name) }
    }

    private func addDiscovered() {
        guard let discover else { return }
        for spec in discover() where find(spec.id) == nil { specs.append(spec) }
    }

    /// The engine of `spec`, loading it on first use (concurrent first requests share one load).
    public func engine(for spec: LocalModelSpec) async throws -> Engine {
        lastUsed[spec.id] = .now
        switch entries[spec.id] {
        case .ready(let engine)?:
            return engine
        case .loading(let task)?:
            return try await awaitLoad(task, id: spec.id)
        case nil:
            let options = self.options
            let task = Task.detached { () throws -> Engine in
                let model = try spec.load()
                let config = SchedulerConfiguration(
                    slots: options.slots, contextLength: options.contextLength ?? min(model.config.contextLength, 4096),
                    maxQueued: options.maxQueued, prefillChunk: options.prefillChunk)
                let scheduler = try Scheduler(model: model, configuration: config)
                return Engine(model: model, scheduler: scheduler, prompt: try ChatPrompt(model: model))
            }
            entries[spec.id] = .loading(task)
            return try await awaitLoad(task, id: spec.id)
        }
    }

    private func awaitLoad(_ task: Task<Engine, any Error>, id: String) async throws -> Engine {
        do {
            let engine = try await task.value
            if case .loading? = entries[id] { entries[id] = .ready(engine) }
            return engine
        } catch {
            if case .loading? = entries[id] { entries[id] = nil }
            throw BackendError.loadFailed(model: id, reason: String(describing: error))
        }
    }

    /// Loaded engines with their scheduler statistics (for `/metrics`).
    public func loadedEngines() -> [(id: String, engine: Engine)] {
        entries.compactMap { id, entry in
            if case .ready(let e) = entry { return (id, e) }
            return nil
        }.sorted { $0.id < $1.id }
    }

    /// Unloads every model idle for longer than `keepAlive` with no request in flight.
    public func unloadIdle(now: ContinuousClock.Instant = .now) async {
        guard let keepAlive = options.keepAlive else { return }
        var victims: [Engine] = []
        for (id, entry) in entries {
            guard case .ready(let engine) = entry, inFlight[id, default: 0] == 0,
                  let used = lastUsed[id], now - used >= keepAlive else { continue }
            entries[id] = nil
            victims.append(engine)
        }
        for engine in victims {
            await Task.detached { engine.scheduler.shutdown() }.value
        }
    }

    /// Starts the background check that unloads idle models (a no-op without keep-alive).
    public func startKeepAlive() {
        guard reaper == nil, let keepAlive = options.keepAlive else { return }
        let period = min(max(keepAlive / 4, .milliseconds(100)), .seconds(5))
        reaper = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: period)
                await self?.unloadIdle()
            }
        }
    }

    /// Stops the keep-alive check and unloads every model (their unfinished tasks end).
    public func shutdown() async {
        reaper?.cancel()
        reaper = nil
        let engines = loadedEngines().map(\.engine)
        entries.removeAll()
        for engine in engines {
            await Task.detached { engine.scheduler.shutdown() }.value
        }
    }

    private func began(_ id: String) {
        inFlight[id, default: 0] += 1
        lastUsed[id] = .now
    }

    private func ended(_ id: String) {
        inFlight[id, default: 1] -= 1
        lastUsed[id] = .now
    }

    // MARK: - Running choices

    private func start(
        spec: LocalModelSpec, engine: Engine, model: String, prompts: [[Int]], parameters: GenerateParameters, n: Int,
        toolNames: [String]? = nil, constraint: OutputConstraint? = nil, echo: [String]? = nil, generates: Bool = true
    ) throws -> BackendResponse {
        guard n >= 1 else { throw BackendError.invalidRequest("n must be at least 1, got \(n).", param: "n") }
        guard !prompts.isEmpty else { throw BackendError.invalidRequest("The prompt is empty.", param: "prompt") }
        var tasks: [SchedulerTask] = []
        var echoes: [PromptEcho?] = []
        do {
            for (index, prompt) in prompts.enumerated() {
                for i in 0..<n {
                    var p = parameters
                    if let seed = p.seed, i > 0 { p.seed = seed &+ UInt64(i) }
                    let scores = echo != nil && parameters.logprobs ? PromptScores() : nil
                    var report: (@Sendable ([Logprobs]) -> Void)?
                    if let scores { report = { scores.set($0) } }
                    tasks.append(try engine.scheduler.submit(
                        SchedulerRequest(prompt: prompt, parameters: p, promptLogprobs: report, generates: generates)))
                    echoes.append(echo.map { PromptEcho(text: $0[index], tokens: prompt, scores: scores) })
                }
            }
        } catch {
            for t in tasks { engine.scheduler.cancel(t.id) }
            throw BackendError(error)
        }
        began(spec.id)
        let events = Self.merge(tasks, engine: engine, promptTokens: prompts.map(\.count), toolNames: toolNames,
                                constraint: constraint ?? Self.constraint(of: parameters.grammar), echoes: echoes) { [weak self] in
            await self?.ended(spec.id)
        }
        let scheduler = engine.scheduler
        let ids = tasks.map(\.id)
        return BackendResponse(model: model, choices: tasks.count, promptTokens: prompts.map(\.count), events: events) {
            for id in ids { scheduler.cancel(id) }
        }
    }

    /// Interleaves the tasks' events as choices, then reports usage. With `toolNames`, each
    /// choice's text goes through a tool-call parser. Ending the consumer cancels every task. A
    /// choice that meets a grammar dead end fails the whole answer (no `stop` for invalid output).
    static func merge(
        _ tasks: [SchedulerTask], engine: Engine, promptTokens: [Int], toolNames: [String]? = nil,
        constraint: OutputConstraint = constraint(of: nil), echoes: [PromptEcho?] = [],
        onEnd: @escaping @Sendable () async -> Void
    ) -> AsyncThrowingStream<BackendEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<BackendEvent, any Error>.makeStream()
        let tokenizer = engine.model.tokenizer
        let scheduler = engine.scheduler
        let runner = Task {
            defer { Task { await onEnd() } }
            do {
                let results = try await withThrowingTaskGroup(of: SchedulerResult?.self) { group in
                    for (choice, task) in tasks.enumerated() {
                        group.addTask {
                            var output = ChoiceOutput(choice: choice, toolNames: toolNames, continuation: continuation)
                            // The echo goes out with the task's first event, once the prompt is in (its
                            // scores arrive before that event), so that a failure in prefill is still
                            // the answer's first event (and status).
                            var echo = echoes.indices.contains(choice) ? echoes[choice] : nil
                            for try await event in task.events {
                                if let e = echo {
                                    echo = nil
                                    if let scores = e.scores {
                                        // None when the task was cancelled before its prompt was in.
                                        if let taken = scores.take() {
                                            let infos = Self.describePrompt(e.tokens, scores: taken, tokenizer: tokenizer)
                                            continuation.yield(.prompt(choice: choice, text: e.text, logprobs: infos))
                                        }
                                    } else {
                                        continuation.yield(.prompt(choice: choice, text: e.text, logprobs: nil))
                                    }
                                }
                                switch event {
                                case .token(let t):
                                    let info = t.logprobs.map { Self.describe($0, tokenizer: tokenizer) }
                                    output.text(t.text, logprobs: info, tokens: 1)
                                case .text(let s):
                                    output.text(s, logprobs: nil, tokens: 0)
                                case .finished(let r):
                                    if r.finishReason == .grammarDeadEnd { throw constraint.deadEnd(afterTokens: r.completionTokens) }
                                    if r.finishReason != .cancelled {
                                        output.finish(r.finishReason == .length ? .length : .stop)
                                    }
                                    return r
                                }
                            }
                            return nil
                        }
                    }
                    var results: [SchedulerResult] = []
                    for try await r in group { if let r { results.append(r) } }
                    return results
                }
                if Task.isCancelled {
                    continuation.finish()
                    return
                }
                let usage = BackendUsage(
                    promptTokens: promptTokens.reduce(0, +),
                    completionTokens: results.reduce(0) { $0 + $1.completionTokens },
                    cachedTokens: results.map(\.cachedPromptTokens).max() ?? 0)
                continuation.yield(.usage(usage))
                continuation.finish()
            } catch let error as SchedulerError {
                for t in tasks { scheduler.cancel(t.id) }
                continuation.finish(throwing: BackendError(error))
            } catch {
                for t in tasks { scheduler.cancel(t.id) }
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in
            runner.cancel()
            for t in tasks { scheduler.cancel(t.id) }
        }
        return stream
    }

    static func describe(_ lp: Logprobs, tokenizer: Tokenizer) -> TokenLogprobInfo {
        TokenLogprobInfo(chosen: alternative(lp.chosen, tokenizer: tokenizer), top: lp.top.map { alternative($0, tokenizer: tokenizer) })
    }

    static func alternative(_ t: TokenLogprob, tokenizer: Tokenizer) -> TokenAlternative {
        let bytes = tokenizer.tokenBytes(t.token)
        return TokenAlternative(token: String(decoding: bytes, as: UTF8.self), bytes: bytes, logprob: t.logprob)
    }

    /// An echoed prompt's logprobs: its first token unscored, then each later token's score.
    static func describePrompt(_ prompt: [Int], scores: [Logprobs], tokenizer: Tokenizer) -> [TokenLogprobInfo] {
        guard let first = prompt.first else { return [] }
        let head = TokenLogprobInfo(chosen: alternative(TokenLogprob(token: first, logprob: 0), tokenizer: tokenizer), top: [], scored: false)
        return [head] + scores.map { describe($0, tokenizer: tokenizer) }
    }
}

/// A choice's echoed prompt: its text, its tokens, and (when logprobs are asked for) where the
/// scheduler leaves the tokens' scores.
struct PromptEcho: Sendable {
    var text: String
    var tokens: [Int]
    var scores: PromptScores?
}

/// The prompt scores of one task, written by the scheduler's thread and taken once by the reader.
final class PromptScores: Sendable {
    private let value = Mutex<[Logprobs]?>(nil)

    func set(_ scores: [Logprobs]) { value.withLock { $0 = scores } }
    func take() -> [Logprobs]? { value.withLock { $0.take() } }
}
