import Foundation
import Synchronization
// The decode loop: prefill the prompt, then sample, detokenize, check stops and step, until an
// end-of-generation token, a stop string, maxTokens or a full context. It runs synchronously
// with a callback per event, or as an AsyncThrowingStream fed from its own thread; either way a
// cancelled task stops it before the next model step.

/// Generates text from a `LogitsSource` under `GenerateParameters`.
public struct Generator<Source: LogitsSource> {
    public var source: Source
    public let parameters: GenerateParameters
    /// Token ids that end generation (EOS, end-of-turn, …); they are not part of the output.
    public let endOfGeneration: Set<Int>
    /// The bytes each token id stands for.
    public let detokenize: @Sendable (Int) -> [UInt8]
    /// Token bytes for `parameters.grammar` (`GrammarVocabulary.shared(for:)` caches them per
    /// tokenizer); when nil and a grammar is set, they are built from `detokenize`.
    public let grammarVocabulary: GrammarVocabulary?
    /// Appends a token's bytes to a buffer; when given, the decode loop uses it with one reused
    /// buffer instead of `detokenize`, so a step allocates nothing.
    public let appendTokenBytes: (@Sendable (Int, inout [UInt8]) -> Void)?

    /// A generator; throws when `parameters` are invalid for the source's vocabulary.
    public init(
        source: Source, parameters: GenerateParameters, endOfGeneration: Set<Int>,
        detokenize: @escaping @Sendable (Int) -> [UInt8], grammarVocabulary: GrammarVocabulary? = nil,
        appendTokenBytes: (@Sendable (Int, inout [UInt8]) -> Void)? = nil
    ) throws(GenerationError) {
        do {
            try parameters.validate(vocabularySize: source.vocabularySize)
        } catch {
            throw .invalidParameters(error)
        }
        self.source = source
        self.parameters = parameters
        self.endOfGeneration = endOfGeneration
        self.detokenize = detokenize
        self.grammarVocabulary = grammarVocabulary
        self.appendTokenBytes = appendTokenBytes
    }

    /// Generates from `prompt`, calling `onEvent` with each `.token` (and a final `.text` if
    /// held-back text is released without a token); returns the summary. `isCancelled` is asked
    /// before every model step (by default: whether the current task is cancelled).
    public mutating func generate(
        prompt: [Int], onEvent: (GenerationEvent) throws -> Void = { _ in },
        isCancelled: () -> Bool = { Task.isCancelled }
    ) throws -> GenerationResult {
        let clock = ContinuousClock()
        let start = clock.now
        guard !prompt.isEmpty else { throw GenerationError.emptyPrompt }
        let used = source.count
        guard used + prompt.count + 1 <= source.contextLength else {
            throw GenerationError.promptTooLong(
                promptTokens: prompt.count, alreadyInContext: used, contextLength: source.contextLength)
        }
        if let bad = prompt.firstIndex(where: { $0 < 0 || $0 >= source.vocabularySize }) {
            throw GenerationError.promptTokenOutOfRange(
                token: prompt[bad], position: bad, vocabularySize: source.vocabularySize)
        }
        var sampler: SamplerPipeline
        do {
            var vocabulary = grammarVocabulary
            if parameters.grammar != nil && vocabulary == nil {
                vocabulary = GrammarVocabulary(
                    tokenBytes: (0..<source.vocabularySize).map(detokenize), endOfGeneration: endOfGeneration)
            }
            sampler = try SamplerPipeline(
                parameters: parameters, vocabularySize: source.vocabularySize, grammarVocabulary: vocabulary)
        } catch {
            throw GenerationError.invalidParameters(error)
        }
        sampler.prompt(prompt)
        let topN = parameters.logprobs ? parameters.topLogprobs : 0

        var decoder = StreamingUTF8Decoder()
        var pieceBytes: [UInt8] = []
        pieceBytes.reserveCapacity(64)
        var stops = StopSequences(parameters.stop)
        var tokens: [Int] = []
        var logprobs: [Logprobs] = []
        var text = ""
        var sampled = 0
        var firstTokenAt: ContinuousClock.Instant?
        var finish: FinishReason
        var promptEnd: ContinuousClock.Instant?

        if isCancelled() {
            return result(.cancelled)
        }
        var logits = try source.prefill(prompt)
        promptEnd = clock.now
        try checkCount(logits)

        while true {
            if isCancelled() {
                let rest = stops.append(decoder.finish()) + stops.finish()
                if !rest.isEmpty {
                    text += rest
                    try onEvent(.text(rest))
                }
                finish = .cancelled
                break
            }
            let token = sampler.sample(logits)
            sampled += 1
            if firstTokenAt == nil { firstTokenAt = clock.now }

            if sampler.grammarDeadEnd || endOfGeneration.contains(token) {
                let rest = stops.append(decoder.finish()) + stops.finish()
                if !rest.isEmpty {
                    text += rest
                    try onEvent(.text(rest))
                }
                finish = sampler.grammarDeadEnd ? .grammarDeadEnd : .stop
                break
            }

            sampler.accept(token)
            tokens.append(token)
            var info: Logprobs?
            if parameters.logprobs {
                let lp = Logprobs(logits: logits, chosen: token, topN: topN)
                logprobs.append(lp)
                info = lp
            }
            var delta: String
            if let appendTokenBytes {
                pieceBytes.removeAll(keepingCapacity: true)
                appendTokenBytes(token, &pieceBytes)
                delta = stops.append(decoder.append(pieceBytes))
            } else {
                delta = stops.append(decoder.append(detokenize(token)))
            }

            var ending: FinishReason?
            let grammarDone = !stops.isStopped && sampler.grammarIsComplete
            if stops.isStopped || grammarDone {
                ending = .stop
            } else if let maxTokens = parameters.maxTokens, tokens.count >= maxTokens {
                ending = .length
            } else if source.count + 1 >= source.contextLength {
                // The chosen token fills the context's last slot; nothing can follow it.
                ending = .length
            }
            if ending == .length || grammarDone {
                delta += stops.append(decoder.finish())
                if stops.isStopped { ending = .stop } else { delta += stops.finish() }
            }
            text += delta
            try onEvent(.token(GeneratedToken(id: token, text: delta, logprobs: info)))
            if let ending {
                finish = ending
                break
            }

            // Let go of the last logits first: the source writes the next ones into the same
            // buffer, which a second reference would make it copy (a vocabulary-sized allocation
            // per token).
            logits = []
            logits = try source.step(token)
            try checkCount(logits)
        }
        return result(finish)

        func result(_ reason: FinishReason) -> GenerationResult {
            let end = clock.now
            let promptDone = promptEnd ?? end
            return GenerationResult(
                text: text, tokens: tokens, promptTokens: prompt, finishReason: reason,
                stopString: stops.matched, seed: sampler.seed,
                logprobs: parameters.logprobs ? logprobs : nil,
                timing: GenerationTiming(
                    promptDuration: promptDone - start, generationDuration: end - promptDone,
                    timeToFirstToken: firstTokenAt.map { $0 - start },
                    promptTokens: prompt.count, generatedTokens: sampled))
        }
    }

    private func checkCount(_ logits: [Float]) throws(GenerationError) {
        if logits.count != source.vocabularySize {
            throw .logitsCountMismatch(expected: source.vocabularySize, got: logits.count)
        }
    }
}

extension Generator where Source: SendableMetatype {
    /// Streams the generation of `prompt`: `.token` events, an optional `.text`, then
    /// `.finished`. Ending the iteration early cancels the generation.
    ///
    /// The decode loop is synchronous and long, so it runs on a thread of its own rather than on
    /// Swift's cooperative pool, where it would hold one of the few threads (two on a 2-core
    /// machine) and starve every other task, including the consumer of this stream.
    public static func stream(
        _ generator: sending Generator, prompt: [Int]
    ) -> AsyncThrowingStream<GenerationEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, any Error>.makeStream()
        let cancelled = Atomic<Bool>(false)
        let box = UncheckedSendableBox(generator)
        continuation.onTermination = { _ in cancelled.store(true, ordering: .relaxed) }
        let thread = Thread {
            var generator = box.take()
            do {
                let result = try generator.generate(
                    prompt: prompt, onEvent: { continuation.yield($0) },
                    isCancelled: { cancelled.load(ordering: .relaxed) })
                continuation.yield(.finished(result))
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        thread.name = "studio.generate"
        thread.start()
        return stream
    }
}

/// Hands a value to exactly one other thread.
final class UncheckedSendableBox<Value>: @unchecked Sendable {
    private var value: Value?
    init(_ value: sending Value) { self.value = value }
    func take() -> Value {
        defer { value = nil }
        return value!
    }
}
