import Backends
import Foundation
import Inference
import Synchronization
import Testing

/// `echo` on the local engine: the prompt before the completion, and with logprobs the prompt's
/// own tokens scored by the scheduler's prefill (SmolLM2-135M).
@Suite(.serialized) struct EchoTests {
    static let sentence = "The quick brown fox jumps over the lazy dog because it was"

    /// Submits `prompt` asking for its scores; returns them with the task's drained events.
    static func score(_ scheduler: Scheduler, _ prompt: [Int], parameters: GenerateParameters, generates: Bool)
        async throws -> (scores: [Logprobs], run: (text: String, tokens: [Int], result: SchedulerResult), beforeFirstEvent: Bool) {
        let box = Mutex<[Logprobs]?>(nil)
        let task = try scheduler.submit(SchedulerRequest(prompt: prompt, parameters: parameters,
                                                         promptLogprobs: { s in box.withLock { $0 = s } }, generates: generates))
        var before = false
        var first = true
        var text = ""
        var tokens: [Int] = []
        for try await event in task.events {
            if first {
                before = box.withLock { $0 != nil }
                first = false
            }
            switch event {
            case .token(let t):
                text += t.text
                tokens.append(t.id)
            case .text(let s): text += s
            case .finished(let r):
                return (box.withLock { $0 } ?? [], (text, tokens, r), before)
            }
        }
        throw SchedulerError.shutDown
    }

    /// The scores equal a teacher-forced pass over the whole prompt, whatever the prefill chunk
    /// and even when a slot already holds the prompt (a scored prompt reuses no cache).
    @Test func promptScoresEqualATeacherForcedPass() async throws {
        let model = try SmolModel.load()
        let prompt = model.tokenizer.encode(Self.sentence, addSpecialTokens: true, parseSpecial: false).map(Int.init)
        #expect(prompt.count > 8)
        let cache = try model.loaded.makeCache(capacity: 128)
        let all = try model.loaded.model.forward(tokens: prompt, cache: cache, logits: .all)
        let vocab = model.config.vocabularySize
        let expected = (0..<(prompt.count - 1)).map { i in
            Logprobs(logits: Array(all[(i * vocab)..<((i + 1) * vocab)]), chosen: prompt[i + 1], topN: 3)
        }
        let scheduler = try Scheduler(model: model, configuration: .init(slots: 1, contextLength: 256, prefillChunk: 4))
        defer { scheduler.shutdown() }
        var p = GenerateParameters.greedy
        p.maxTokens = 2
        _ = try await collect(try scheduler.submit(SchedulerRequest(prompt: prompt, parameters: p)))  // the slot now holds it
        p.logprobs = true
        p.topLogprobs = 3
        let scored = try await Self.score(scheduler, prompt, parameters: p, generates: false)
        #expect(scored.run.result.cachedPromptTokens == 0)
        #expect(scored.run.result.finishReason == .length)
        #expect(scored.run.tokens.isEmpty && scored.run.result.completionTokens == 0)
        #expect(scored.scores.map(\.chosen.token) == Array(prompt.dropFirst()))
        #expect(scored.scores.map { $0.top.map(\.token) } == expected.map { $0.top.map(\.token) })
        for (got, want) in zip(scored.scores, expected) {
            #expect(abs(got.chosen.logprob - want.chosen.logprob) < 1e-3, "\(got.chosen) vs \(want.chosen)")
        }
    }

    /// A prompt longer than the per-tick share of a scored prompt (`SchedulerBatch.scoredChunk`)
    /// is scored over several ticks, each position once and as teacher forcing in chunks of that
    /// size scores it. (A single pass over the whole prompt takes other attention paths from 64
    /// rows on, and differs by about 0.02 at most on this prompt, as any chunked prefill does.)
    @Test func aLongPromptIsScoredAcrossTicks() async throws {
        let model = try SmolModel.load()
        let text = Array(repeating: Self.sentence, count: 12).joined(separator: " ")
        let prompt = model.tokenizer.encode(text, addSpecialTokens: true, parseSpecial: false).map(Int.init)
        #expect(prompt.count > 128)
        let cache = try model.loaded.makeCache(capacity: 256)
        var all: [Float] = []
        for start in stride(from: 0, to: prompt.count, by: 64) {  // SchedulerBatch.scoredChunk
            all += try model.loaded.model.forward(tokens: Array(prompt[start..<min(start + 64, prompt.count)]), cache: cache, logits: .all)
        }
        let vocab = model.config.vocabularySize
        let scheduler = try Scheduler(model: model, configuration: .init(slots: 1, contextLength: 256))
        defer { scheduler.shutdown() }
        var p = GenerateParameters.greedy
        p.logprobs = true
        let before = scheduler.stats.ticks
        let scored = try await Self.score(scheduler, prompt, parameters: p, generates: false)
        #expect(scheduler.stats.ticks - before >= 3)
        #expect(scored.scores.map(\.chosen.token) == Array(prompt.dropFirst()))
        for (i, got) in scored.scores.enumerated() {
            let want = Logprobs(logits: Array(all[(i * vocab)..<((i + 1) * vocab)]), chosen: prompt[i + 1], topN: 0)
            #expect(abs(got.chosen.logprob - want.chosen.logprob) < 1e-3, "position \(i + 1)")
        }
    }

    /// A token generated greedily, then scored as part of a prompt, gets the same log-probability
    /// both ways, and is the top alternative of its position; the scores come before any event.
    @Test func aGreedyTokenScoresAsWhenItWasGenerated() async throws {
        let model = try SmolModel.load()
        let prompt = model.tokenizer.encode(Self.sentence, addSpecialTokens: true, parseSpecial: false).map(Int.init)
        let scheduler = try Scheduler(model: model, configuration: .init(slots: 2, contextLength: 256))
        defer { scheduler.shutdown() }
        var p = GenerateParameters.greedy
        p.maxTokens = 4
        p.logprobs = true
        p.topLogprobs = 2
        let task = try scheduler.submit(SchedulerRequest(prompt: prompt, parameters: p))
        var generated: [GeneratedToken] = []
        for try await event in task.events { if case .token(let t) = event { generated.append(t) } }
        #expect(generated.count == 4)
        let scored = try await Self.score(scheduler, prompt + generated.map(\.id), parameters: p, generates: true)
        #expect(scored.beforeFirstEvent)
        #expect(scored.run.tokens.count == 4)
        let tail = Array(scored.scores.suffix(4))
        for (score, token) in zip(tail, generated) {
            let when = try #require(token.logprobs)
            #expect(score.chosen.token == token.id)
            #expect(score.top.first?.token == token.id)
            #expect(abs(score.chosen.logprob - when.chosen.logprob) < 0.01, "\(score.chosen.logprob) vs \(when.chosen.logprob)")
        }
    }

    static func backend() -> LocalBackend {
        LocalBackend(models: [LocalModelSpec(id: "smol") { try SmolModel.load() }],
                     options: .init(slots: 2, contextLength: 256, maxQueued: 8, keepAlive: nil))
    }

    /// Every choice starts with its prompt, sent as its first event; without logprobs nothing is
    /// scored.
    @Test func everyChoiceStartsWithItsPrompt() async throws {
        let backend = Self.backend()
        var p = GenerateParameters.greedy
        p.maxTokens = 3
        let r = try await backend.completion(CompletionRequest(model: "smol", prompts: [.text("Once upon"), .text("1, 2, 3,")],
                                                               parameters: p, n: 2, echo: true))
        var firsts: [Int: BackendEvent] = [:]
        var texts = [String](repeating: "", count: 4)
        var completion = [String](repeating: "", count: 4)
        for try await e in r.events {
            switch e {
            case let .prompt(c, t, lp):
                if firsts[c] == nil { firsts[c] = e }
                texts[c] += t
                #expect(lp == nil)
            case let .text(c, t, _, _):
                if firsts[c] == nil { firsts[c] = e }
                texts[c] += t
                completion[c] += t
            default: break
            }
        }
        for c in 0..<4 {
            let prompt = c < 2 ? "Once upon" : "1, 2, 3,"
            #expect(firsts[c] == .prompt(choice: c, text: prompt, logprobs: nil))
            #expect(texts[c] == prompt + completion[c] && !completion[c].isEmpty)
        }
        await backend.shutdown()
    }

    /// `max_tokens` 0 with echo and logprobs: the prompt alone, each token with an entry (the
    /// first unscored), finish `length`, no completion tokens. A token-id prompt echoes its text.
    @Test func maxTokensZeroScoresThePromptAlone() async throws {
        let backend = Self.backend()
        let model = try SmolModel.load()
        let ids = model.tokenizer.encode(Self.sentence, addSpecialTokens: true, parseSpecial: false).map(Int.init)
        var p = GenerateParameters.greedy
        p.maxTokens = 0
        p.logprobs = true
        p.topLogprobs = 2
        let r = try await backend.completion(CompletionRequest(model: "smol", prompts: [.tokens(ids)], parameters: p, echo: true))
        var events: [BackendEvent] = []
        for try await e in r.events { events.append(e) }
        #expect(events.count == 3)
        guard case let .prompt(0, text, infos?)? = events.first else {
            Issue.record("the first event is not a scored prompt: \(events)")
            return
        }
        #expect(text == Self.sentence)
        #expect(infos.count == ids.count)
        #expect(infos.map(\.chosen.token).joined() == Self.sentence)
        #expect(!infos[0].scored && infos.dropFirst().allSatisfy { $0.scored && $0.top.count == 2 && $0.chosen.logprob <= 0 })
        #expect(events.dropFirst().first == .finish(choice: 0, reason: .length))
        #expect(events.last == .usage(BackendUsage(promptTokens: ids.count, completionTokens: 0)))
        await backend.shutdown()
    }
}
