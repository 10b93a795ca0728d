// One slot of the scheduler (llama-server's `server_slot`): a KV cache, the tokens it holds,
// and the task running in it. Only the scheduler's loop thread touches a slot.
//
// State diagram:
//
//     idle ──assign──▶ prefilling ──last prompt chunk──▶ generating ──finish/cancel──▶ idle
//                          └───────────────cancel/error────────────────────────────────▲
//
// An idle slot keeps its cache and `tokens`, so the next request that starts with the same
// tokens (the next turn of a conversation) skips recomputing them.

import Models

/// Where a slot is in its life cycle.
enum SlotState: Equatable {
    case idle
    /// Prompt tokens remain to be run through the model.
    case prefilling
    /// The prompt is in the cache; one token per tick.
    case generating
}

/// A task as the loop holds it.
final class SchedulerJob {
    let id: Int
    let request: SchedulerRequest
    let continuation: AsyncThrowingStream<SchedulerEvent, any Error>.Continuation
    let submitted: ContinuousClock.Instant
    var started: ContinuousClock.Instant?

    init(id: Int, request: SchedulerRequest, continuation: AsyncThrowingStream<SchedulerEvent, any Error>.Continuation,
         submitted: ContinuousClock.Instant) {
        self.id = id
        self.request = request
        self.continuation = continuation
        self.submitted = submitted
    }
}

final class SchedulerSlot {
    let index: Int
    let cache: KVCache
    /// Exactly the tokens whose keys and values are in `cache`, in order.
    var tokens: [Int] = []
    var state: SlotState = .idle
    var job: SchedulerJob?
    var sequence: SequenceState?
    /// Index in the job's prompt of the next token to prefill.
    var promptCursor = 0
    var cachedPromptTokens = 0
    /// The prompt tokens' log-probabilities so far, when the task asked for them.
    var promptLogprobs: [Logprobs] = []
    /// The token sampled last, to run through the model next tick.
    var pendingToken: Int?
    /// Logits of a forward run for this slot alone (the fallback when a batched forward fails).
    var logits: [Float] = []
    /// The one-token input of a decode step, reused from tick to tick.
    private var decodeTokens: [Int] = [0]
    /// When the slot last finished a task (the least recently used idle slot is reused first).
    var lastUsed: UInt64 = 0

    init(index: Int, cache: KVCache) {
        self.index = index
        self.cache = cache
    }

    /// Gives the slot `job`, keeping the longest cached prefix of its prompt. At least one prompt
    /// token is always run again: its logits are needed to sample the first new token. A task
    /// that scores its prompt reuses nothing: every prompt position's logits are needed.
    func assign(_ job: SchedulerJob, sequence: SequenceState, now: ContinuousClock.Instant) {
        let prompt = job.request.prompt
        let reuse = job.request.promptLogprobs == nil ? min(Self.commonPrefix(tokens, prompt), prompt.count - 1) : 0
        cache.count = reuse
        tokens.removeSubrange(reuse...)
        self.job = job
        self.sequence = sequence
        job.started = now
        promptCursor = reuse
        cachedPromptTokens = reuse
        pendingToken = nil
        promptLogprobs = []
        state = .prefilling
    }

    /// Ends the task and keeps the cache for prefix reuse.
    func release(tick: UInt64) {
        job = nil
        sequence = nil
        pendingToken = nil
        state = .idle
        lastUsed = tick
    }

    /// Forgets the cached tokens (after a model error the cache content is unknown).
    func clearCache() {
        cache.count = 0
        tokens.removeAll()
    }

    /// `token` as a one-element input. The array is the slot's own, rewritten in place: no
    /// allocation as long as the previous tick's batch has let go of it.
    func decodeInput(_ token: Int) -> [Int] {
        decodeTokens[0] = token
        return decodeTokens
    }

    static func commonPrefix(_ a: [Int], _ b: [Int]) -> Int {
        let n = min(a.count, b.count)
        var i = 0
        while i < n && a[i] == b[i] { i += 1 }
        return i
    }
}

/// The per-token bookkeeping of one sequence — sampling, logprobs, UTF-8 assembly, stop strings
/// and length limits — with the same semantics as `Generator`, but driven one step at a time by
/// the scheduler instead of owning the loop.
struct SequenceState {
    var sampler: SamplerPipeline
    var decoder = StreamingUTF8Decoder()
    var stops: StopSequences
    let parameters: GenerateParameters
    let endOfGeneration: Set<Int>
    var generated = 0
    var firstTokenAt: ContinuousClock.Instant?

    init(
        parameters: GenerateParameters, vocabularySize: Int, endOfGeneration: Set<Int>, prompt: [Int],
        grammarVocabulary: GrammarVocabulary? = nil
    ) throws(GenerateParametersError) {
        sampler = try SamplerPipeline(
            parameters: parameters, vocabularySize: vocabularySize, grammarVocabulary: grammarVocabulary)
        sampler.prompt(prompt)
        stops = StopSequences(parameters.stop)
        self.parameters = parameters
        self.endOfGeneration = endOfGeneration
    }

    /// The bytes of the token being emitted (storage reused from step to step).
    private var pieceBytes: [UInt8] = []

    /// What one step decided.
    struct Step {
        /// Set when the sequence is over.
        var finish: FinishReason?
        /// The token to feed back into the model next tick (nil when finished).
        var next: Int?
    }

    /// Samples from `logits` and hands what to emit to `emit`, in order. `contextUsed` is the
    /// number of positions in the slot's cache and `contextLength` its capacity;
    /// `appendTokenBytes` appends a token's bytes to a buffer (no array per token).
    mutating func step(
        logits: UnsafeBufferPointer<Float>, contextUsed: Int, contextLength: Int, now: ContinuousClock.Instant,
        appendTokenBytes: (Int, inout [UInt8]) -> Void, emit: (SchedulerEvent) -> Void
    ) -> Step {
        var out = Step()
        let token = sampler.sample(logits)
        if firstTokenAt == nil { firstTokenAt = now }
        if sampler.grammarDeadEnd || endOfGeneration.contains(token) {
            let rest = stops.append(decoder.finish()) + stops.finish()
            if !rest.isEmpty { emit(.text(rest)) }
            out.finish = sampler.grammarDeadEnd ? .grammarDeadEnd : .stop
            return out
        }
        sampler.accept(token)
        generated += 1
        var info: Logprobs?
        if parameters.logprobs {
            info = Logprobs(logits: logits, chosen: token, topN: parameters.topLogprobs)
        }
        pieceBytes.removeAll(keepingCapacity: true)
        appendTokenBytes(token, &pieceBytes)
        var delta = stops.append(decoder.append(pieceBytes))
        var ending: FinishReason?
        // A complete grammar ends the sequence at once: only end-of-generation could follow.
        let grammarDone = !stops.isStopped && sampler.grammarIsComplete
        if stops.isStopped || grammarDone {
            ending = .stop
        } else if let maxTokens = parameters.maxTokens, generated >= maxTokens {
            ending = .length
        } else if contextUsed + 1 >= contextLength {
            ending = .length  // the chosen token takes the context's last position
        }
        if ending == .length || grammarDone {
            delta += stops.append(decoder.finish())
            if stops.isStopped { ending = .stop } else { delta += stops.finish() }
        }
        emit(.token(GeneratedToken(id: token, text: delta, logprobs: info)))
        out.finish = ending
        out.next = ending == nil ? token : nil
        return out
    }

    /// Text still held back when the task is cancelled.
    mutating func flush() -> String {
        stops.append(decoder.finish()) + stops.finish()
    }
}
