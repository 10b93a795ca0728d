// Continuous batching after llama-server's design (server-queue / server-context): callers post
// tasks with ids; one loop thread drains the incoming messages (new tasks, cancellations) and
// then runs one tick over every active slot — one decode token for each generating slot plus a
// bounded chunk of prompt for prefilling ones — so new requests join between steps and a long
// prompt never stalls the others for more than one chunk. Results go back per task through its
// own stream. Cancellation is a message; it frees the slot before the next tick.
//
// ```swift
// let scheduler = try Scheduler(model: textModel, configuration: .init(slots: 4))
// let task = try scheduler.submit(SchedulerRequest(prompt: ids, parameters: .greedy))
// for try await event in task.events { … }
// ```

import Foundation
import Models
import Synchronization
import Tokenizers

/// Runs many generations of one model at once.
public final class Scheduler: Sendable {
    public let configuration: SchedulerConfiguration
    public let model: TextModel
    private let shared: Mutex<SharedState>
    private let wake = NSCondition()
    private let stopped = DispatchSemaphore(value: 0)
    // Owned by the loop thread only; boxed so that the Sendable class can hold it.
    private let loop: LoopState

    /// What callers and the loop exchange, under the mutex.
    private struct SharedState {
        var nextID = 1
        var incoming: [SchedulerJob] = []
        var cancelled: Set<Int> = []
        /// Tasks accepted but not yet in a slot (incoming plus the loop's waiting list).
        var waiting = 0
        var stats = SchedulerStats()
        var shuttingDown = false
    }

    private final class LoopState: @unchecked Sendable {
        var slots: [SchedulerSlot] = []
        var waiting: [SchedulerJob] = []
        var tick: UInt64 = 0
        var reused = 0
        var forwardTime = Duration.zero
        var evaluatedTokens = 0
        /// The logits of every sequence of the last tick, one after another.
        var logits: [Float] = []
        // Per-tick buffers, reused so that a decode tick allocates nothing.
        var batch = SchedulerBatch()
        var inputs: [SequenceInput] = []
        var ranges: [Range<Int>] = []
    }

    /// A scheduler for `model` with `configuration.slots` slots of `configuration.contextLength`
    /// positions each. Starts its loop thread at once.
    public init(model: TextModel, configuration: SchedulerConfiguration = .init()) throws {
        guard configuration.slots >= 1, configuration.maxQueued >= 0, configuration.prefillChunk >= 1 else {
            throw SchedulerConfigurationError.invalid(configuration)
        }
        let context = try model.resolvedContext(configuration.contextLength)
        var config = configuration
        config.contextLength = context
        self.configuration = config
        self.model = model
        let loop = LoopState()
        for i in 0..<config.slots {
            loop.slots.append(SchedulerSlot(index: i, cache: try model.loaded.makeCache(capacity: context)))
        }
        self.loop = loop
        var initial = SharedState()
        initial.stats.slots = config.slots
        initial.stats.cacheTokensCapacity = config.slots * context
        shared = Mutex(initial)
        let thread = Thread { [self] in self.run() }
        thread.name = "studio.scheduler"
        thread.stackSize = 8 << 20
        thread.start()
    }

    deinit { shutdown() }

    // MARK: - Caller side

    /// Checks and queues a request. Throws `SchedulerError` at once when it cannot run
    /// (context exceeded, bad parameters, queue full); otherwise its stream yields its events.
    public func submit(_ request: SchedulerRequest) throws(SchedulerError) -> SchedulerTask {
        try validate(request)
        let (stream, continuation) = AsyncThrowingStream<SchedulerEvent, any Error>.makeStream()
        let now = ContinuousClock.now
        let id: Int = try shared.withLock { (s) throws(SchedulerError) -> Int in
            if s.shuttingDown { throw .shutDown }
            if s.waiting >= configuration.maxQueued + max(0, configuration.slots - s.stats.active) {
                throw .queueFull(limit: configuration.maxQueued, retryAfterSeconds: 1)
            }
            let id = s.nextID
            s.nextID += 1
            s.incoming.append(SchedulerJob(id: id, request: request, continuation: continuation, submitted: now))
            s.waiting += 1
            s.stats.queued = s.waiting
            return id
        }
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.cancel(id) }
        }
        signal()
        return SchedulerTask(id: id, events: stream)
    }

    /// Cancels task `id` (a no-op when it already finished): its stream ends with `.finished`
    /// and reason `.cancelled` and its slot is free before the next tick.
    public func cancel(_ id: Int) {
        shared.withLock { $0.cancelled.insert(id) }
        signal()
    }

    public var stats: SchedulerStats { shared.withLock { $0.stats } }

    /// Stops the loop; unfinished tasks end with `SchedulerError.shutDown`. Waits for the loop
    /// thread to leave (it finishes its current tick first).
    public func shutdown() {
        let first = shared.withLock { s -> Bool in
            defer { s.shuttingDown = true }
            return !s.shuttingDown
        }
        guard first else { return }
        signal()
        stopped.wait()
    }

    private func validate(_ request: SchedulerRequest) throws(SchedulerError) {
        let prompt = request.prompt
        guard !prompt.isEmpty else { throw .emptyPrompt }
        let vocab = model.config.vocabularySize
        if let bad = prompt.firstIndex(where: { $0 < 0 || $0 >= vocab }) {
            throw .promptTokenOutOfRange(token: prompt[bad], position: bad, vocabularySize: vocab)
        }
        do {
            try request.parameters.validate(vocabularySize: vocab)
        } catch {
            throw .invalidParameters(error)
        }
        let context = configuration.contextLength
        let wanted = request.generates ? request.parameters.maxTokens ?? 1 : 0
        if prompt.count + wanted > context {
            throw .contextExceeded(promptTokens: prompt.count, maxTokens: wanted, contextLength: context)
        }
    }

    private func signal() {
        wake.lock()
        wake.signal()
        wake.unlock()
    }

    // MARK: - The loop thread

    private func run() {
        while true {
            let (incoming, cancelled, stop) = shared.withLock { s in
                defer { s.incoming.removeAll(); s.cancelled.removeAll() }
                return (s.incoming, s.cancelled, s.shuttingDown)
            }
            loop.waiting.append(contentsOf: incoming)
            if stop { break }
            if !cancelled.isEmpty { applyCancellations(cancelled) }
            admit()
            publishStats()
            if loop.slots.allSatisfy({ $0.state == .idle }) {
                idleWait()
                continue
            }
            tick()
            publishStats()
        }
        for job in loop.waiting { job.continuation.finish(throwing: SchedulerError.shutDown) }
        loop.waiting.removeAll()
        for slot in loop.slots where slot.job != nil {
            slot.job?.continuation.finish(throwing: SchedulerError.shutDown)
            slot.release(tick: loop.tick)
        }
        let late = shared.withLock { s in
            defer { s.incoming.removeAll() }
            return s.incoming
        }
        for job in late { job.continuation.finish(throwing: SchedulerError.shutDown) }
        stopped.signal()
    }

    /// Sleeps until a caller posts something (or a second passes, as a safety net).
    private func idleWait() {
        wake.lock()
        let pending = shared.withLock { !$0.incoming.isEmpty || !$0.cancelled.isEmpty || $0.shuttingDown }
        if !pending { _ = wake.wait(until: Date().addingTimeInterval(1)) }
        wake.unlock()
    }

    private func applyCancellations(_ ids: Set<Int>) {
        loop.waiting.removeAll { job in
            guard ids.contains(job.id) else { return false }
            job.continuation.yield(.finished(result(for: job, slot: nil, finish: .cancelled, sequence: nil)))
            job.continuation.finish()
            return true
        }
        for slot in loop.slots {
            guard let job = slot.job, ids.contains(job.id) else { continue }
            if var sequence = slot.sequence {
                let rest = sequence.flush()
                if !rest.isEmpty { job.continuation.yield(.text(rest)) }
                slot.sequence = sequence
            }
            finish(slot, .cancelled)
        }
    }

    /// Moves waiting tasks into idle slots: the slot whose cache shares the longest prefix with
    /// the prompt, else the least recently used.
    private func admit() {
        while !loop.waiting.isEmpty {
            let idle = loop.slots.filter { $0.state == .idle }
            guard !idle.isEmpty else { return }
            let job = loop.waiting.removeFirst()
            let prompt = job.request.prompt
            let best = idle.max { a, b in
                let pa = SchedulerSlot.commonPrefix(a.tokens, prompt), pb = SchedulerSlot.commonPrefix(b.tokens, prompt)
                return pa != pb ? pa < pb : a.lastUsed > b.lastUsed
            }!
            do {
                let sequence = try SequenceState(
                    parameters: job.request.parameters, vocabularySize: model.config.vocabularySize,
                    endOfGeneration: model.endOfGeneration, prompt: prompt,
                    grammarVocabulary: job.request.parameters.grammar == nil ? nil : .shared(for: model.tokenizer))
                best.assign(job, sequence: sequence, now: .now)
                loop.reused += best.cachedPromptTokens
            } catch {
                job.continuation.finish(throwing: SchedulerError.invalidParameters(error))
            }
        }
    }

    /// One step over all active slots: gather the work, run it as one multi-sequence forward
    /// (each weight matrix read once for every slot's tokens), then sample.
    private func tick() {
        loop.tick += 1
        // Last tick's inputs go first: they hold the slots' one-token arrays, which the gather
        // rewrites in place.
        loop.inputs.removeAll(keepingCapacity: true)
        loop.batch.gather(slots: loop.slots, prefillBudget: configuration.prefillChunk)
        let batch = loop.batch
        guard !batch.entries.isEmpty else { return }
        for entry in batch.entries {
            loop.inputs.append(SequenceInput(
                tokens: entry.tokens, cache: loop.slots[entry.slot].cache, logits: entry.logits))
        }
        let started = ContinuousClock.now
        do {
            try model.loaded.model.forward(sequences: loop.inputs, into: &loop.logits, ranges: &loop.ranges)
        } catch {
            // The model checks every sequence before it runs any, so nothing has moved: run the
            // entries one by one to fail only the one at fault.
            for entry in batch.entries { runAlone(entry) }
            return
        }
        // Counted before any sampling, so a caller that sees its task end sees its tokens here.
        loop.forwardTime += ContinuousClock.now - started
        loop.evaluatedTokens += batch.tokenCount
        // Each sequence samples straight from its range of the batch's logits (no copy).
        loop.logits.withUnsafeBufferPointer { all in
            for (entry, range) in zip(batch.entries, loop.ranges) {
                advance(loop.slots[entry.slot], by: entry, logits: UnsafeBufferPointer(rebasing: all[range]))
            }
        }
        // A scored prompt chunk's logits (a row per token) are too big to keep as the buffer.
        if batch.entries.contains(where: \.allLogits) { loop.logits = [] }
    }

    private func runAlone(_ entry: SchedulerBatchEntry) {
        let slot = loop.slots[entry.slot]
        do {
            try model.loaded.model.forward(
                tokens: entry.tokens, cache: slot.cache, logits: entry.logits, into: &slot.logits)
        } catch {
            slot.clearCache()
            fail(slot, SchedulerError.modelFailed(String(describing: error)))
            return
        }
        loop.evaluatedTokens += entry.tokens.count
        slot.logits.withUnsafeBufferPointer { advance(slot, by: entry, logits: $0) }
    }

    /// Records that `entry`'s tokens are in the slot's cache; samples from `logits` when the
    /// entry wanted them (from its last row when it has one per token).
    private func advance(_ slot: SchedulerSlot, by entry: SchedulerBatchEntry, logits: UnsafeBufferPointer<Float>) {
        slot.tokens.append(contentsOf: entry.tokens)
        guard slot.state == .prefilling, let job = slot.job else {
            sample(slot, logits: logits)
            return
        }
        var last = logits
        if entry.logits == .all {
            scorePrompt(slot, from: slot.promptCursor, rows: logits)
            let vocab = model.config.vocabularySize
            last = UnsafeBufferPointer(rebasing: logits[(logits.count - vocab)...])
        }
        slot.promptCursor += entry.tokens.count
        if slot.promptCursor < job.request.prompt.count { return }
        slot.state = .generating
        if let report = job.request.promptLogprobs {
            report(slot.promptLogprobs)
            slot.promptLogprobs = []
        }
        if !job.request.generates {
            finish(slot, .length)
            return
        }
        sample(slot, logits: last)
    }

    /// The log-probabilities of the prompt tokens that the rows of a prompt chunk starting at
    /// prompt index `start` predict (row i predicts token start + i + 1).
    private func scorePrompt(_ slot: SchedulerSlot, from start: Int, rows: UnsafeBufferPointer<Float>) {
        guard let request = slot.job?.request else { return }
        let vocab = model.config.vocabularySize
        let count = rows.count / vocab
        for i in 0..<count where start + i + 1 < request.prompt.count {
            let row = UnsafeBufferPointer(rebasing: rows[(i * vocab)..<((i + 1) * vocab)])
            slot.promptLogprobs.append(Logprobs(logits: row, chosen: request.prompt[start + i + 1], topN: request.parameters.topLogprobs))
        }
    }

    private func sample(_ slot: SchedulerSlot, logits: UnsafeBufferPointer<Float>) {
        // Taken out of the slot (not copied) so that its arrays stay uniquely referenced and
        // the step mutates them in place.
        guard let job = slot.job, var sequence = slot.sequence.take() else { return }
        let tokenizer = model.tokenizer
        let step = sequence.step(
            logits: logits, contextUsed: slot.cache.count, contextLength: slot.cache.capacity, now: .now,
            appendTokenBytes: { token, out in
                if let id = TokenID(exactly: token) { tokenizer.appendTokenBytes(id, to: &out) }
            }, emit: { job.continuation.yield($0) })
        slot.sequence = sequence
        if let finish = step.finish {
            self.finish(slot, finish)
        } else {
            slot.pendingToken = step.next
        }
    }

    /// Ends the slot's task. The slot is released and the statistics published before the
    /// stream ends, so a caller that sees the end also sees the slot free.
    private func finish(_ slot: SchedulerSlot, _ reason: FinishReason) {
        guard let job = slot.job else { return }
        let summary = result(for: job, slot: slot, finish: reason, sequence: slot.sequence)
        slot.release(tick: loop.tick)
        publishStats()
        job.continuation.yield(.finished(summary))
        job.continuation.finish()
    }

    private func fail(_ slot: SchedulerSlot, _ error: SchedulerError) {
        let job = slot.job
        slot.release(tick: loop.tick)
        publishStats()
        job?.continuation.finish(throwing: error)
    }

    private func result(for job: SchedulerJob, slot: SchedulerSlot?, finish: FinishReason, sequence: SequenceState?) -> SchedulerResult {
        let now = ContinuousClock.now
        return SchedulerResult(
            finishReason: finish, stopString: sequence?.stops.matched, promptTokens: job.request.prompt.count,
            cachedPromptTokens: slot?.cachedPromptTokens ?? 0, completionTokens: sequence?.generated ?? 0,
            seed: sequence?.sampler.seed ?? job.request.parameters.seed ?? 0,
            timeToFirstToken: sequence?.firstTokenAt.map { $0 - job.submitted },
            totalDuration: now - job.submitted, queueDuration: (job.started ?? now) - job.submitted)
    }

    private func publishStats() {
        var active = 0, used = 0
        for slot in loop.slots {
            if slot.state != .idle { active += 1 }
            used += slot.cache.count
        }
        let waitingHere = loop.waiting.count
        let ticks = Int(loop.tick), reused = loop.reused, evaluated = loop.evaluatedTokens
        let forward = loop.forwardTime.components
        let forwardSeconds = Double(forward.seconds) + Double(forward.attoseconds) * 1e-18
        shared.withLock { s in
            s.waiting = waitingHere + s.incoming.count
            s.stats.queued = s.waiting
            s.stats.active = active
            s.stats.cacheTokensUsed = used
            s.stats.ticks = ticks
            s.stats.reusedPromptTokens = reused
            s.stats.forwardSeconds = forwardSeconds
            s.stats.evaluatedTokens = evaluated
        }
    }
}

/// A scheduler configuration that cannot work.
public enum SchedulerConfigurationError: Error, Equatable, CustomStringConvertible {
    case invalid(SchedulerConfiguration)

    public var description: String {
        switch self {
        case .invalid(let c):
            "A scheduler needs at least 1 slot, a queue of 0 or more and a prefill chunk of at least 1 token (got \(c.slots) slots, queue \(c.maxQueued), chunk \(c.prefillChunk))."
        }
    }
}
