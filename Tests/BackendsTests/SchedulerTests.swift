import Foundation
import Inference
import Testing

/// A real model of the cache (it maps in a few ms), or a test failure telling how to get it.
struct CachedModel {
    let file: String
    let alias: String

    var path: String {
        let env = ProcessInfo.processInfo.environment
        let home = env["STUDIO_HOME"] ?? (NSHomeDirectory() + "/.cache/studio")
        return home + "/models/\(file).gguf"
    }

    func load() throws -> TextModel {
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("\(path) is missing: run `studio pull \(alias)` first.")
            throw CancellationError()
        }
        return try TextModel.load(path: path, threads: 2)
    }
}

/// SmolLM2-135M, shared by most tests of this target.
let SmolModel = CachedModel(file: "smollm2-135m", alias: "smollm2:135m")
/// Gemma 3 270M (its GGUF has no chat template).
let GemmaModel = CachedModel(file: "gemma3-270m", alias: "gemma3:270m")

/// Drains a task: the text, the generated ids, and the result.
func collect(_ task: SchedulerTask) async throws -> (text: String, tokens: [Int], result: SchedulerResult) {
    var text = ""
    var tokens: [Int] = []
    for try await event in task.events {
        switch event {
        case .token(let t):
            text += t.text
            tokens.append(t.id)
        case .text(let s):
            text += s
        case .finished(let r):
            return (text, tokens, r)
        }
    }
    throw SchedulerError.shutDown
}

@Suite(.serialized) struct SchedulerTests {
    static let prompts = [
        "The capital of France is",
        "def fibonacci(n):\n    ",
        "Once upon a time, in a small village by the sea, there lived an old fisherman who",
    ]

    /// Greedy output through the scheduler equals the plain generator's, token for token, even
    /// with three sequences interleaved and prompts prefilled in chunks of 5 tokens.
    @Test func concurrentGreedyMatchesSequentialGenerator() async throws {
        let model = try SmolModel.load()
        var parameters = GenerateParameters.greedy
        parameters.maxTokens = 12
        let expected = try Self.prompts.map { try model.complete(prompt: $0, parameters: parameters, contextLength: 256) }

        let scheduler = try Scheduler(model: model, configuration: .init(slots: 3, contextLength: 256, maxQueued: 4, prefillChunk: 5))
        defer { scheduler.shutdown() }
        let tasks = try Self.prompts.map { try scheduler.submit(SchedulerRequest(prompt: model.tokenize($0), parameters: parameters)) }
        let results = try await withThrowingTaskGroup(of: (Int, [Int], String, SchedulerResult).self) { group in
            for (i, task) in tasks.enumerated() {
                group.addTask { let r = try await collect(task); return (i, r.tokens, r.text, r.result) }
            }
            var out: [(Int, [Int], String, SchedulerResult)] = []
            for try await r in group { out.append(r) }
            return out.sorted { $0.0 < $1.0 }
        }
        for (i, tokens, text, result) in results {
            #expect(tokens == expected[i].tokens, "prompt \(i)")
            #expect(text == expected[i].text, "prompt \(i)")
            #expect(result.finishReason == expected[i].finishReason)
            #expect(result.promptTokens == expected[i].promptTokens.count)
            #expect(result.completionTokens == tokens.count)
            #expect(result.timeToFirstToken != nil)
        }
        #expect(scheduler.stats.active == 0)
        #expect(scheduler.stats.ticks > 12)
    }

    /// A second turn that extends the first reuses its cached tokens and still produces what a
    /// fresh run produces.
    @Test func prefixReuseAcrossTurns() async throws {
        let model = try SmolModel.load()
        var parameters = GenerateParameters.greedy
        parameters.maxTokens = 8
        let scheduler = try Scheduler(model: model, configuration: .init(slots: 2, contextLength: 256))
        defer { scheduler.shutdown() }
        let first = model.tokenize("The quick brown fox jumps over the lazy dog. The dog")
        let turn1 = try await collect(try scheduler.submit(SchedulerRequest(prompt: first, parameters: parameters)))
        #expect(turn1.result.cachedPromptTokens == 0)
        // The prompt, then every generated token but a last one cut by the length limit.
        let fedBack = turn1.result.finishReason == .length ? turn1.tokens.count - 1 : turn1.tokens.count
        #expect(scheduler.stats.evaluatedTokens == first.count + fedBack)
        #expect(scheduler.stats.ticks >= 1 + fedBack && scheduler.stats.forwardSeconds > 0)
        let second = first + turn1.tokens + model.tokenize(" Then the fox", addSpecialTokens: false)
        let turn2 = try await collect(try scheduler.submit(SchedulerRequest(prompt: second, parameters: parameters)))
        // Everything but the last generated token (never run through the model) is reused.
        #expect(turn2.result.cachedPromptTokens == first.count + turn1.tokens.count - 1)
        let fresh = try model.complete(tokens: second, parameters: parameters, contextLength: 256)
        #expect(turn2.tokens == fresh.tokens)
        #expect(scheduler.stats.reusedPromptTokens == turn2.result.cachedPromptTokens)

        // The same prompt again reuses all but its last token.
        let again = try await collect(try scheduler.submit(SchedulerRequest(prompt: second, parameters: parameters)))
        #expect(again.result.cachedPromptTokens == second.count - 1)
        #expect(again.tokens == fresh.tokens)
    }

    @Test func refusalsSayWhy() async throws {
        let model = try SmolModel.load()
        let scheduler = try Scheduler(model: model, configuration: .init(slots: 1, contextLength: 64, maxQueued: 1))
        defer { scheduler.shutdown() }
        let prompt = model.tokenize("Hello there")
        var p = GenerateParameters.greedy
        p.maxTokens = 100
        #expect(throws: SchedulerError.contextExceeded(promptTokens: prompt.count, maxTokens: 100, contextLength: 64)) {
            try scheduler.submit(SchedulerRequest(prompt: prompt, parameters: p))
        }
        let message = SchedulerError.contextExceeded(promptTokens: 10, maxTokens: 100, contextLength: 64).description
        #expect(message.contains("46 too many"))
        #expect(throws: SchedulerError.emptyPrompt) { try scheduler.submit(SchedulerRequest(prompt: [], parameters: .greedy)) }
        #expect(throws: SchedulerError.promptTokenOutOfRange(token: 1 << 30, position: 1, vocabularySize: model.config.vocabularySize)) {
            try scheduler.submit(SchedulerRequest(prompt: [1, 1 << 30], parameters: .greedy))
        }
        var bad = GenerateParameters.greedy
        bad.topP = 0
        #expect(throws: SchedulerError.invalidParameters(.invalidTopP(0))) {
            try scheduler.submit(SchedulerRequest(prompt: prompt, parameters: bad))
        }
    }

    /// One slot and a queue of one: the third concurrent request is refused with queueFull;
    /// cancelling the running one frees its slot at once for the queued one.
    @Test func boundedQueueAndCancellation() async throws {
        let model = try SmolModel.load()
        let scheduler = try Scheduler(model: model, configuration: .init(slots: 1, contextLength: 512, maxQueued: 1))
        defer { scheduler.shutdown() }
        var long = GenerateParameters.greedy
        long.maxTokens = 400
        let prompt = model.tokenize("Count from one to one thousand: one, two, three,")
        let running = try scheduler.submit(SchedulerRequest(prompt: prompt, parameters: long))
        var short = GenerateParameters.greedy
        short.maxTokens = 3
        let queued = try scheduler.submit(SchedulerRequest(prompt: prompt, parameters: short))
        var refused: SchedulerError?
        do {
            _ = try scheduler.submit(SchedulerRequest(prompt: prompt, parameters: short))
        } catch {
            refused = error
        }
        #expect(refused == .queueFull(limit: 1, retryAfterSeconds: 1))

        // Wait for the running task's first token, then cancel it.
        var iterator = running.events.makeAsyncIterator()
        _ = try await iterator.next()
        scheduler.cancel(running.id)
        var last: SchedulerEvent?
        while let e = try await iterator.next() { last = e }
        guard case .finished(let r)? = last else {
            Issue.record("the cancelled task did not finish")
            return
        }
        #expect(r.finishReason == .cancelled)
        #expect(r.completionTokens < 400)
        let next = try await collect(queued)
        #expect(next.result.finishReason == .length)
        #expect(next.tokens.count == 3)
        #expect(scheduler.stats.active == 0)
        #expect(scheduler.stats.queued == 0)
    }

    /// Dropping a stream's consumer (a client going away) cancels the task.
    @Test func droppingTheConsumerCancels() async throws {
        let model = try SmolModel.load()
        let scheduler = try Scheduler(model: model, configuration: .init(slots: 1, contextLength: 512))
        defer { scheduler.shutdown() }
        var long = GenerateParameters.greedy
        long.maxTokens = 400
        let consumer = Task {
            let task = try scheduler.submit(SchedulerRequest(prompt: model.tokenize("One, two,"), parameters: long))
            var n = 0
            for try await _ in task.events { n += 1 }
            return n
        }
        try await Task.sleep(for: .milliseconds(300))
        consumer.cancel()
        _ = try? await consumer.value
        // Bounded generously: the point is "eventually freed", and a loaded machine is slow.
        let deadline = ContinuousClock.now + .seconds(60)
        while scheduler.stats.active > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(scheduler.stats.active == 0)
    }

    @Test func shutdownEndsUnfinishedTasks() async throws {
        let model = try SmolModel.load()
        let scheduler = try Scheduler(model: model, configuration: .init(slots: 1, contextLength: 512))
        var long = GenerateParameters.greedy
        long.maxTokens = 400
        let task = try scheduler.submit(SchedulerRequest(prompt: model.tokenize("One, two,"), parameters: long))
        scheduler.shutdown()
        await #expect(throws: SchedulerError.shutDown) { _ = try await collect(task) }
        #expect(throws: SchedulerError.shutDown) { try scheduler.submit(SchedulerRequest(prompt: [1], parameters: .greedy)) }
    }
}
