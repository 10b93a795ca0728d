import Foundation
import Inference
import Testing

/// A lone request through the scheduler computes what `TextModel.complete` computes, bit for
/// bit, also for a prompt longer than a prefill chunk: the default chunk is llama.cpp's step (512
/// tokens), so the chunks are the steps a whole-prompt forward call runs in, and every row gets
/// the same kernels (Gemma 3's repacked Q4_K groups rows by four; attention switches kernels at
/// 64 rows in a step).
@Suite(.serialized) struct SchedulerStepTests {
    @Test(arguments: [300, 600])
    func aLoneLongPromptMatchesTheGeneratorBitForBit(promptLength: Int) async throws {
        let model = try GemmaModel.load()
        var parameters = GenerateParameters.greedy
        parameters.maxTokens = 6
        parameters.logprobs = true
        parameters.topLogprobs = 5
        let text = (1...200).map { "Line \($0): the quick brown fox jumps over the lazy dog number \($0 * 7 % 13)." }.joined(separator: "\n")
        let prompt = Array(model.tokenize(text).prefix(promptLength))
        #expect(prompt.count == promptLength)
        let expected = try model.complete(tokens: prompt, parameters: parameters, contextLength: 1024)

        let scheduler = try Scheduler(model: model, configuration: .init(slots: 2, contextLength: 1024))
        defer { scheduler.shutdown() }
        var tokens: [GeneratedToken] = []
        for try await event in try scheduler.submit(SchedulerRequest(prompt: prompt, parameters: parameters)).events {
            if case .token(let t) = event { tokens.append(t) }
        }
        #expect(tokens.map(\.id) == expected.tokens)
        let ours = tokens.compactMap(\.logprobs).flatMap { $0.top.map(\.logprob) }
        let theirs = (expected.logprobs ?? []).flatMap { $0.top.map(\.logprob) }
        #expect(ours.count == 6 * 5 && ours.count == theirs.count)
        let worst = zip(ours, theirs).map { abs($0 - $1) }.max() ?? 0
        #expect(ours.map(\.bitPattern) == theirs.map(\.bitPattern), "top-5 log-probabilities differ, by up to \(worst)")
    }
}
