import Foundation
import Synchronization
import Testing

import Inference

/// Counts model steps across tasks.
private final class StepCounter: Sendable {
    let value = Atomic<Int>(0)
}

/// A stand-in model: at generated position i the logits make `script[i]` the clear favourite;
/// past the script they are pseudo-random. It refuses to grow past its context.
private struct ScriptedSource: LogitsSource, Sendable {
    struct Overflow: Error {}

    var contextLength: Int
    var vocabularySize: Int = Vocab.size
    var count = 0
    var script: [Int]
    var prefillCalls = 0
    var steps = 0
    var counter: StepCounter? = nil
    /// Cancels the running task when this many steps have been taken.
    var cancelAtStep: Int? = nil
    /// Logits to return beyond the vocabulary (a broken model).
    var extraLogits = 0

    mutating func prefill(_ tokens: [Int]) throws -> [Float] {
        prefillCalls += 1
        count += tokens.count
        if count > contextLength { throw Overflow() }
        return logits(at: 0)
    }

    mutating func step(_ token: Int) throws -> [Float] {
        count += 1
        if count > contextLength { throw Overflow() }
        steps += 1
        if let counter {
            counter.value.add(1, ordering: .relaxed)
            // A real model step takes milliseconds; without a pause this fake can run all 10M
            // steps before a busy machine schedules the consumer's cancellation at all.
            Thread.sleep(forTimeInterval: 0.0002)
        }
        if steps == cancelAtStep { withUnsafeCurrentTask { $0?.cancel() } }
        return logits(at: steps)
    }

    func logits(at i: Int) -> [Float] {
        if i < script.count {
            var l = [Float](repeating: 0, count: vocabularySize + extraLogits)
            l[script[i]] = 10
            return l
        }
        var rng = SeededRandom(seed: UInt64(i))
        return (0..<vocabularySize).map { _ in Float(rng.nextUnitDouble() * 4) }
    }
}

/// The fake vocabulary: token id → bytes.
private enum Vocab {
    static let eos = 0
    static let eot = 15
    static let table: [Int: [UInt8]] = [
        1: Array("Hel".utf8), 2: Array("lo".utf8), 3: Array(" wo".utf8), 4: Array("rld".utf8),
        5: Array("!".utf8), 6: [0xC3], 7: [0xA9],  // "é" split in two
        8: [0xF0, 0x9F], 9: [0x98, 0x80],  // "😀" split in two
        10: Array("x".utf8), 11: [0xFF], 12: Array("END".utf8), 13: Array("\n".utf8),
        14: [0xE4, 0xB8, 0xAD],  // "中"
    ]
    static let size = 16
    static let detokenize: @Sendable (Int) -> [UInt8] = { table[$0] ?? [] }
}

/// Bans the end-of-generation tokens, for runs over pseudo-random logits.
private let noEnd: [Int: Float] = [Vocab.eos: -.infinity, Vocab.eot: -.infinity]

private func makeGenerator(
    script: [Int], context: Int = 64, _ configure: (inout GenerateParameters) -> Void = { _ in }
) throws -> Generator<ScriptedSource> {
    var params = GenerateParameters.greedy
    configure(&params)
    return try Generator(
        source: ScriptedSource(contextLength: context, script: script), parameters: params,
        endOfGeneration: [Vocab.eos, Vocab.eot], detokenize: Vocab.detokenize)
}

/// Runs a generation and collects its events.
private func runCollecting(_ g: inout Generator<ScriptedSource>, prompt: [Int] = [1, 2]) throws
    -> (GenerationResult, [GenerationEvent])
{
    var events: [GenerationEvent] = []
    let result = try g.generate(prompt: prompt) { events.append($0) }
    return (result, events)
}

private func textDeltas(_ events: [GenerationEvent]) -> [String] {
    events.compactMap {
        switch $0 {
        case .token(let t): t.text
        case .text(let s): "[" + s + "]"
        case .finished: nil
        }
    }
}

// MARK: - Stopping

@Test func stopsOnEndOfGenerationToken() throws {
    var g = try makeGenerator(script: [1, 2, 5, Vocab.eos, 4])
    let (r, events) = try runCollecting(&g)
    #expect(r.tokens == [1, 2, 5])
    #expect(r.text == "Hello!")
    #expect(r.finishReason == .stop)
    #expect(r.stopString == nil)
    #expect(r.promptTokens == [1, 2])
    #expect(textDeltas(events) == ["Hel", "lo", "!"])
    #expect(g.source.steps == 3)  // 1, 2 and 5 are fed back; the EOS token is not
    #expect(g.source.count == 5)
    // Any id in the set ends generation.
    var h = try makeGenerator(script: [1, Vocab.eot, 2])
    #expect(try runCollecting(&h).0.tokens == [1])
}

@Test func maxTokensEndsWithLength() throws {
    var g = try makeGenerator(script: [1, 2, 3, 4, 5]) { $0.maxTokens = 3 }
    let (r, _) = try runCollecting(&g)
    #expect(r.tokens == [1, 2, 3])
    #expect(r.text == "Hello wo")
    #expect(r.finishReason == .length)
    #expect(r.timing.generatedTokens == 3)
}

@Test func fullContextEndsWithLength() throws {
    // Context 8, prompt 5: three tokens fit; the model is never asked past its context.
    var g = try makeGenerator(script: [1, 2, 3, 4, 5, 10, 10, 10], context: 8)
    let (r, _) = try runCollecting(&g, prompt: [10, 10, 10, 10, 10])
    #expect(r.tokens == [1, 2, 3])
    #expect(r.finishReason == .length)
    #expect(g.source.count == 7)  // the last token was chosen but needs no model step
    #expect(r.promptTokens.count + r.tokens.count == 8)
}

@Test func promptThatLeavesNoRoomIsAnErrorBeforeAnyWork() throws {
    var g = try makeGenerator(script: [1], context: 8)
    #expect(throws: GenerationError.promptTooLong(promptTokens: 8, alreadyInContext: 0, contextLength: 8)) {
        try g.generate(prompt: [Int](repeating: 1, count: 8))
    }
    #expect(throws: GenerationError.promptTooLong(promptTokens: 100, alreadyInContext: 0, contextLength: 8)) {
        try g.generate(prompt: [Int](repeating: 1, count: 100))
    }
    #expect(g.source.prefillCalls == 0)
    #expect(throws: GenerationError.emptyPrompt) { try g.generate(prompt: []) }
    #expect(throws: GenerationError.promptTokenOutOfRange(token: 16, position: 1, vocabularySize: 16)) {
        try g.generate(prompt: [1, 16])
    }
    #expect(throws: GenerationError.promptTokenOutOfRange(token: -1, position: 0, vocabularySize: 16)) {
        try g.generate(prompt: [-1])
    }
    // Seven tokens leave exactly one slot: one token comes out.
    let (r, _) = try runCollecting(&g, prompt: [Int](repeating: 1, count: 7))
    #expect(r.tokens.count == 1 && r.finishReason == .length)
    #expect(GenerationError.promptTooLong(promptTokens: 8, alreadyInContext: 0, contextLength: 8)
        .description.contains("at most 7"))
}

@Test func logitsOfTheWrongSizeAreAnError() throws {
    var g = try makeGenerator(script: [1, 2])
    g.source.extraLogits = 3
    #expect(throws: GenerationError.logitsCountMismatch(expected: 16, got: 19)) {
        try g.generate(prompt: [1])
    }
}

@Test func invalidParametersAreRejectedByTheGenerator() {
    #expect(throws: GenerationError.invalidParameters(.logitBiasTokenOutOfRange(token: 99, vocabularySize: 16))) {
        _ = try makeGenerator(script: []) { $0.logitBias = [99: 1] }
    }
    #expect(throws: GenerationError.invalidParameters(.invalidTemperature(-1))) {
        _ = try makeGenerator(script: []) { $0.temperature = -1 }
    }
}

// MARK: - Stop strings

@Test func stopStringAcrossTokensIsNeverEmitted() throws {
    // "Hel" "lo" " wo" "rld": the stop "lo w" spans three tokens.
    var g = try makeGenerator(script: [1, 2, 3, 4, 5]) { $0.stop = ["lo w"] }
    let (r, events) = try runCollecting(&g)
    #expect(r.text == "Hel")
    #expect(r.finishReason == .stop)
    #expect(r.stopString == "lo w")
    #expect(r.tokens == [1, 2, 3])
    // "l" is held after "Hel", "lo" is held after "lo", then the match releases nothing.
    #expect(textDeltas(events) == ["He", "l", ""])
}

@Test func heldBackTextIsReleasedWhenItIsNotAStop() throws {
    // "x" might start "xyz", so it waits; "!" settles it.
    var g = try makeGenerator(script: [1, 10, 5, Vocab.eos]) { $0.stop = ["xyz"] }
    var (r, events) = try runCollecting(&g)
    #expect(textDeltas(events) == ["Hel", "", "x!"])
    #expect(r.text == "Helx!")
    // Held at the end-of-generation token: released as a final text event.
    g = try makeGenerator(script: [1, 10, Vocab.eos]) { $0.stop = ["xyz"] }
    (r, events) = try runCollecting(&g)
    #expect(textDeltas(events) == ["Hel", "", "[x]"])
    #expect(r.text == "Helx" && r.finishReason == .stop && r.stopString == nil)
    // Held when max tokens is reached: released with the last token.
    g = try makeGenerator(script: [1, 10, 5]) { $0.stop = ["xyz"]; $0.maxTokens = 2 }
    (r, events) = try runCollecting(&g)
    #expect(textDeltas(events) == ["Hel", "x"])
    #expect(r.text == "Helx" && r.finishReason == .length)
}

@Test func stopSequencesUnit() {
    var s = StopSequences(["END", "\n\n"])
    #expect(s.append("abc E") == "abc ")
    #expect(s.heldBack == "E")
    #expect(s.append("N") == "")
    #expect(s.append("Dxyz") == "")
    #expect(s.isStopped && s.matched == "END")
    #expect(s.append("more") == "")
    // The earliest stop wins; text after it in the same piece is dropped.
    var t = StopSequences(["bb", "a"])
    #expect(t.append("xxbba") == "xx")
    #expect(t.matched == "bb")
    // A stop string inside one piece, with multi-byte text around it.
    var u = StopSequences(["→"])
    #expect(u.append("héllo→wörld") == "héllo")
    // No stops: everything passes straight through.
    var v = StopSequences([])
    #expect(v.append("E") == "E" && v.finish() == "")
    // Overlapping partial matches: "aab" inside "aaab".
    var w = StopSequences(["aab"])
    #expect(w.append("a") == "")
    #expect(w.append("a") == "")
    #expect(w.append("a") == "a")
    #expect(w.append("b") == "")
    #expect(w.matched == "aab")
}

// MARK: - Text assembly

@Test func multiByteCharactersSplitAcrossTokensComeOutWhole() throws {
    var g = try makeGenerator(script: [6, 7, 8, 9, 14, 1, Vocab.eos])
    let (r, events) = try runCollecting(&g)
    #expect(textDeltas(events) == ["", "é", "", "😀", "中", "Hel"])
    #expect(r.text == "é😀中Hel")
    for case .token(let t) in events {
        #expect(!t.text.unicodeScalars.contains("\u{FFFD}"))
    }
}

@Test func unfinishedOrInvalidBytesBecomeReplacementCharacters() throws {
    // 0xFF is never valid; a lone lead byte at the end is flushed as U+FFFD.
    var g = try makeGenerator(script: [1, 11, 2, 6]) { $0.maxTokens = 4 }
    let (r, _) = try runCollecting(&g)
    #expect(r.text == "Hel\u{FFFD}lo\u{FFFD}")
    var d = StreamingUTF8Decoder()
    #expect(d.append([0xE4]) == "")
    #expect(d.append([0xB8]) == "")
    #expect(d.append([0xAD, 0x41]) == "中A")
    #expect(d.append([0xC3]) == "")
    #expect(d.append([0x41]) == "\u{FFFD}A")  // the lead byte never got its continuation
    #expect(d.append([0xED, 0xA0]) == "\u{FFFD}\u{FFFD}")  // a surrogate can never complete
    #expect(d.append([0xF0, 0x9F, 0x98]) == "")
    #expect(d.finish() == "\u{FFFD}")
}

// MARK: - Logprobs, seeds, streaming, cancellation

@Test func generatorLogprobsAreRawLogSoftmax() throws {
    // The bias makes token 5 win, but logprobs describe the model's raw logits.
    var g = try makeGenerator(script: [1, 2, 3]) {
        $0.maxTokens = 3
        $0.logprobs = true
        $0.topLogprobs = 2
        $0.logitBias = [5: 20]
    }
    let (r, events) = try runCollecting(&g)
    #expect(r.tokens == [5, 5, 5])
    let lp = try #require(r.logprobs)
    #expect(lp.count == 3)
    let raw = ScriptedSource(contextLength: 64, script: [1, 2, 3])
    for i in 0..<3 {
        #expect(lp[i] == Logprobs(logits: raw.logits(at: i), chosen: 5, topN: 2))
        #expect(lp[i].top.first?.token == [1, 2, 3][i])
        #expect(lp[i].chosen.logprob < -9)
    }
    var perToken: [Logprobs] = []
    for case .token(let t) in events { perToken.append(try #require(t.logprobs)) }
    #expect(perToken == lp)
    // Off by default.
    var h = try makeGenerator(script: [1]) { $0.maxTokens = 1 }
    #expect(try runCollecting(&h).0.logprobs == nil)
}

@Test func sameSeedSameTextDifferentSeedDiffers() throws {
    func sample(_ seed: UInt64) throws -> [Int] {
        var g = try makeGenerator(script: []) {
            $0.temperature = 1
            $0.topK = 0
            $0.minP = 0
            $0.seed = seed
            $0.maxTokens = 40
            $0.logitBias = noEnd
        }
        let r = try runCollecting(&g).0
        #expect(r.seed == seed)
        return r.tokens
    }
    let a = try sample(7)
    #expect(try sample(7) == a)
    #expect(try sample(8) != a)
}

@Test func streamDeliversTokensThenSummary() async throws {
    let g = try makeGenerator(script: [1, 2, 3, 4, 5, Vocab.eos]) { $0.stop = ["rld"] }
    var text = ""
    var ids: [Int] = []
    var summary: GenerationResult?
    for try await event in Generator.stream(g, prompt: [1]) {
        #expect(summary == nil, "nothing may follow .finished")
        switch event {
        case .token(let t):
            ids.append(t.id)
            text += t.text
        case .text(let s): text += s
        case .finished(let r): summary = r
        }
    }
    let r = try #require(summary)
    #expect(text == r.text && text == "Hello wo")
    #expect(ids == r.tokens && ids == [1, 2, 3, 4])
    #expect(r.stopString == "rld")
    #expect(r.timing.timeToFirstToken != nil)
    #expect(r.timing.promptTokensPerSecond > 0 && r.timing.generationTokensPerSecond > 0)
}

@Test func streamErrorsArriveAsThrows() async throws {
    var g = try makeGenerator(script: [1], context: 4)
    g.source.count = 3  // an earlier turn already fills the context
    let stream = Generator.stream(g, prompt: [1])
    await #expect(throws: GenerationError.promptTooLong(promptTokens: 1, alreadyInContext: 3, contextLength: 4)) {
        for try await _ in stream {}
    }
}

@Test func cancellingTheTaskStopsPromptly() async throws {
    var g = try makeGenerator(script: [1, 2, 3], context: 1_000_000) { $0.logitBias = noEnd }
    g.source.cancelAtStep = 5
    let task = Task { [g] in
        var g = g
        return try g.generate(prompt: [1])
    }
    let r = try await task.value
    #expect(r.finishReason == .cancelled)
    #expect(r.tokens.count == 5)
}

@Test func abandoningTheStreamCancelsGeneration() async throws {
    var g = try makeGenerator(script: [], context: 10_000_000) { $0.logitBias = noEnd }
    let counter = StepCounter()
    g.source.counter = counter
    var received = 0
    for try await event in Generator.stream(g, prompt: [1]) {
        if case .token = event { received += 1 }
        if received == 3 { break }
    }
    try await Task.sleep(for: .milliseconds(300))
    let settled = counter.value.load(ordering: .relaxed)
    try await Task.sleep(for: .milliseconds(300))
    #expect(counter.value.load(ordering: .relaxed) == settled)
    #expect(settled < 100_000)
}
