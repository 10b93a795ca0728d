#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import CKernels

/// A persistent pool of worker threads.
///
/// `parallelFor` hands chunks of `0..<count` to the workers plus the calling thread, and returns
/// when every chunk is done. Workers spin briefly after each job (the next matmul usually follows
/// within microseconds), then park on a condition variable, so an idle pool costs no CPU.
/// No thread is spawned per call. `threads == 1` runs everything inline on the caller.
///
/// Calls are serialized: concurrent `parallelFor` calls from different threads on one pool wait
/// for each other. Calling `parallelFor` from inside a body (nesting) on the same pool deadlocks;
/// don't.
public final class ThreadPool: @unchecked Sendable {
    public let threads: Int

    /// Scratch memory owned by the pool, used by `matmul` and `attention` (see `Workspace`).
    public let workspace: Workspace

    // Job description. Written by the caller before it publishes `state` (release); read by a
    // worker only after it has claimed a chunk of that job (acquire), so it cannot change under
    // the worker: the caller waits for every claimed chunk before it moves on.
    // Non-optional: loading an optional closure from storage re-abstracts it, which heap-allocated
    // a thunk context for every chunk run.
    private var jobBody: (Int, Int, Int) -> Void = ThreadPool.idleBody
    private var jobBody2: (Int, Int) -> Void = ThreadPool.idleBody2
    /// A `ParallelJob` on the caller's stack and the specialized function that runs it (see
    /// `parallelFor(_:minChunk:job:)`); used when `jobKind` is `.job`.
    private var jobContext: UnsafeRawPointer? = nil
    private var jobInvoke: (UnsafeRawPointer, Int, Int, Int) -> Void = ThreadPool.idleInvoke
    private var jobIsStruct = false
    private static let idleInvoke: @Sendable (UnsafeRawPointer, Int, Int, Int) -> Void = { _, _, _, _ in }
    private var jobTakesIndex = false
    private var jobCount = 0
    private var jobChunk = 1
    private static let idleBody: @Sendable (Int, Int, Int) -> Void = { _, _, _ in }
    private static let idleBody2: @Sendable (Int, Int) -> Void = { _, _ in }

    /// Packed claim word: job tag (24 bits) << 40 | chunk count (20 bits) << 20 | next chunk (20 bits).
    /// A worker that wakes late can only claim chunks of the job it woke for, never a newer one.
    private let state = Atomic<UInt64>(0)
    private let completedChunks = Atomic<Int>(0)
    /// Bumped once per job to wake parked workers.
    private let generation = Atomic<Int>(0)
    /// Workers parked (or about to park) on `cond`; the caller signals only when some are.
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>
    private let callMutex: UnsafeMutablePointer<pthread_mutex_t>
    private var workers: [pthread_t] = []

    /// How long an idle worker spins (with `pause`) waiting for the next job before parking.
    private static let spinNanoseconds: UInt64 = 300_000
    /// Chunks handed out per thread and job (see `chunkSize`).
    private static let chunksPerThread = 4
    private static let fieldMask: UInt64 = (1 << 20) - 1

    public init(threads: Int) {
        self.threads = max(1, threads)
        workspace = Workspace()
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        callMutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
        pthread_mutex_init(callMutex, nil)
        if self.threads > 1 {
            for index in 1..<self.threads {
                let context = Unmanaged.passRetained(WorkerContext(pool: self, index: index)).toOpaque()
                var tid = pthread_t()
                let rc = pthread_create(&tid, nil, { raw in
                    let ctx = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                    ctx.pool?.workerLoop(index: ctx.index)
                    return nil
                }, context)
                precondition(rc == 0, "ThreadPool: pthread_create failed (\(rc))")
                workers.append(tid)
            }
        }
    }

    /// The number of logical CPUs available to this process.
    public static var availableProcessors: Int {
        max(1, Int(ck_available_cpus()))
    }

    deinit {
        stopping.store(true, ordering: .releasing)
        pthread_mutex_lock(mutex)
        generation.add(1, ordering: .releasing)
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
        for t in workers { pthread_join(t, nil) }
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        pthread_mutex_destroy(callMutex)
        mutex.deallocate()
        cond.deallocate()
        callMutex.deallocate()
    }

    /// Run `body(start, end)` over chunks covering `0..<count`; blocks until all chunks are done.
    /// Chunks are contiguous, non-overlapping, and handed out dynamically (faster threads take more).
    public func parallelFor(_ count: Int, _ body: (Int, Int) -> Void) {
        parallelFor(count, minChunk: 1, body)
    }

    /// As `parallelFor(_:_:)`, but every chunk except possibly the last holds a multiple of
    /// `minChunk` items (useful to keep row groups together).
    public func parallelFor(_ count: Int, minChunk: Int, _ body: (Int, Int) -> Void) {
        if count <= 0 { return }
        guard let chunk = chunkSize(count, minChunk: minChunk) else {
            body(0, count)
            return
        }
        pthread_mutex_lock(callMutex)
        defer { pthread_mutex_unlock(callMutex) }
        if runInline() {
            body(0, count)
            return
        }
        // The body is stored as it is (no wrapping closure), so no closure context is allocated.
        withoutActuallyEscaping(body) { escapable in
            jobBody2 = escapable
            jobTakesIndex = false
            execute(count: count, chunk: chunk)
            jobBody2 = Self.idleBody2
        }
    }

    /// As `parallelFor(_:minChunk:_:)` for a job given as a value: `job.run(start, end, thread)`
    /// over chunks of `0..<count`. Allocates nothing, where a closure costs one heap object per
    /// call (`withoutActuallyEscaping` boxes the closure's context): the job stays on the caller's
    /// stack and workers reach it through a pointer and a function specialized for `J`.
    public func parallelFor<J: ParallelJob>(_ count: Int, minChunk: Int = 1, job: J) {
        if count <= 0 { return }
        guard let chunk = chunkSize(count, minChunk: minChunk) else {
            job.run(0, count, 0)
            return
        }
        pthread_mutex_lock(callMutex)
        defer { pthread_mutex_unlock(callMutex) }
        if runInline() {
            job.run(0, count, 0)
            return
        }
        withUnsafePointer(to: job) { pointer in
            jobContext = UnsafeRawPointer(pointer)
            jobInvoke = { context, start, end, thread in
                context.assumingMemoryBound(to: J.self).pointee.run(start, end, thread)
            }
            jobIsStruct = true
            execute(count: count, chunk: chunk)
            jobIsStruct = false
            jobInvoke = Self.idleInvoke
            jobContext = nil
        }
    }

    /// As `parallelFor(_:minChunk:_:)`, and the body also receives the index (0..<threads) of the
    /// thread running it, for per-thread scratch space. 0 is the calling thread. Two chunks
    /// with the same index never run at the same time.
    public func parallelForWithThreadIndex(_ count: Int, minChunk: Int = 1, _ body: (Int, Int, Int) -> Void) {
        if count <= 0 { return }
        guard let chunk = chunkSize(count, minChunk: minChunk) else {
            body(0, count, 0)
            return
        }
        pthread_mutex_lock(callMutex)
        defer { pthread_mutex_unlock(callMutex) }
        if runInline() {
            body(0, count, 0)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            jobBody = escapable
            jobTakesIndex = true
            execute(count: count, chunk: chunk)
            jobBody = Self.idleBody
        }
    }

    /// Items per chunk for `count` items, or nil when the job should run inline on the caller.
    /// Several chunks per thread, so a thread that loses its core to another process holds up
    /// only a small piece of the work; not more, because every chunk costs a claim on a shared
    /// cache line.
    private func chunkSize(_ count: Int, minChunk: Int) -> Int? {
        let grain = max(1, minChunk)
        if threads == 1 || count <= grain { return nil }
        let pieces = threads * Self.chunksPerThread
        var chunk = (count + pieces - 1) / pieces
        chunk = (chunk + grain - 1) / grain * grain
        return chunk >= count ? nil : chunk
    }

    /// Publishes the job stored in `jobBody`/`jobBody2`, runs chunks on the calling thread too,
    /// and returns when every chunk is done. Called with `callMutex` held.
    private func execute(count: Int, chunk: Int) {
        let chunks = (count + chunk - 1) / chunk
        jobCount = count
        jobChunk = chunk
        completedChunks.store(0, ordering: .relaxed)
        let gen = generation.load(ordering: .relaxed) &+ 1
        let tag = UInt64(truncatingIfNeeded: gen) & 0xFF_FFFF
        state.store(tag << 40 | UInt64(chunks) << 20, ordering: .releasing)
        // Spinning workers see the new generation by themselves; the mutex and the broadcast
        // are needed only when one has parked. Both sides use sequentially consistent order
        // (generation then sleepers here, sleepers then generation in the worker), so a
        // worker that parks either sees this generation or is counted here.
        generation.store(gen, ordering: .sequentiallyConsistent)
        let wakingParked = sleepers.load(ordering: .sequentiallyConsistent) > 0
        if wakingParked {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(cond)
            pthread_mutex_unlock(mutex)
        }

        let started = _monotonicNanoseconds()
        let ranHere = runChunks(tag: tag, worker: 0)
        if completedChunks.load(ordering: .acquiring) >= chunks {
            noteJob(straggled: false)
            return
        }
        let finishedHere = _monotonicNanoseconds()
        var spins = 0
        while completedChunks.load(ordering: .acquiring) < chunks {
            spins += 1
            if spins < 2048 { _spinPause() } else { sched_yield() }
        }
        // A worker that takes much longer for its last chunk than this thread took per chunk
        // lost its core to another process while holding work.
        // (A parked worker that is just waking up is slow for another reason: not counted.)
        let perChunk = (finishedHere &- started) / UInt64(max(ranHere, 1))
        let waited = _monotonicNanoseconds() &- finishedHere
        noteJob(straggled: !wakingParked && waited > 3 &* perChunk &+ Self.straggleSlackNanoseconds)
    }

    // MARK: Contention back-off
    //
    // When the cores are shared with other busy processes, a worker can be descheduled while it
    // holds a chunk, and the caller then waits a whole scheduler time slice. After such a job the
    // pool runs the next `inlineJobsLeft` jobs on the calling thread alone (one-thread speed, no
    // waiting), then tries the workers again; repeated stragglers double the back-off.
    // Guarded by `callMutex`.
    private var inlineJobsLeft = 0
    private var backOffJobs = ThreadPool.minBackOffJobs
    private var cleanJobs = 0
    private static let minBackOffJobs = 64
    private static let maxBackOffJobs = 1024
    private static let straggleSlackNanoseconds: UInt64 = 100_000

    /// Whether the next job runs inline because of recent contention. Called with `callMutex` held.
    private func runInline() -> Bool {
        if inlineJobsLeft == 0 { return false }
        inlineJobsLeft -= 1
        return true
    }

    /// Records whether a parallel job waited on a straggling worker. Called with `callMutex` held.
    private func noteJob(straggled: Bool) {
        if straggled {
            inlineJobsLeft = backOffJobs
            backOffJobs = min(backOffJobs * 2, Self.maxBackOffJobs)
            cleanJobs = 0
        } else {
            cleanJobs += 1
            if cleanJobs >= 4 * Self.minBackOffJobs { backOffJobs = Self.minBackOffJobs }
        }
    }

    /// Claim and run chunks of the job tagged `tag` until none is left, then report how many
    /// this thread ran (one shared write per thread and job, not one per chunk).
    @discardableResult
    private func runChunks(tag: UInt64, worker: Int) -> Int {
        var done = 0
        defer { if done > 0 { completedChunks.add(done, ordering: .releasing) } }
        while true {
            var s = state.load(ordering: .acquiring)
            var claimed = -1
            while true {
                if s >> 40 != tag { break }
                let chunks = (s >> 20) & Self.fieldMask, next = s & Self.fieldMask
                if next >= chunks { break }
                let (exchanged, original) = state.compareExchange(expected: s, desired: s + 1, ordering: .acquiringAndReleasing)
                if exchanged {
                    claimed = Int(next)
                    break
                }
                s = original
            }
            if claimed < 0 { return done }
            let start = claimed * jobChunk
            let end = min(jobCount, start + jobChunk)
            if jobIsStruct {
                jobInvoke(jobContext.unsafelyUnwrapped, start, end, worker)
            } else if jobTakesIndex {
                jobBody(start, end, worker)
            } else {
                jobBody2(start, end)
            }
            done += 1
        }
    }

    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            var gen = generation.load(ordering: .acquiring)
            if gen == seen {
                // Spin briefly (the next job usually follows within microseconds), then keep
                // polling but yield the core between polls, so a thread sharing this core (the
                // caller, when other processes hold the other cores) is not starved; then park.
                let deadline = _monotonicNanoseconds() &+ Self.spinNanoseconds
                var spins = 0
                while gen == seen {
                    spins += 1
                    if spins < 512 || spins & 15 != 0 {
                        _spinPause()
                    } else if _monotonicNanoseconds() < deadline {
                        sched_yield()
                    } else {
                        pthread_mutex_lock(mutex)
                        sleepers.add(1, ordering: .sequentiallyConsistent)
                        while generation.load(ordering: .sequentiallyConsistent) == seen {
                            pthread_cond_wait(cond, mutex)
                        }
                        sleepers.subtract(1, ordering: .relaxed)
                        pthread_mutex_unlock(mutex)
                    }
                    gen = generation.load(ordering: .acquiring)
                }
            }
            seen = gen
            if stopping.load(ordering: .acquiring) { return }
            runChunks(tag: UInt64(truncatingIfNeeded: gen) & 0xFF_FFFF, worker: index)
        }
    }
}

@inline(__always)
func _monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

private final class WorkerContext {
    // Unowned-ish: the pool joins its workers in deinit, so the pool outlives them; a weak
    // reference would keep workers from retaining the pool (which would leak it).
    unowned(unsafe) let pool: ThreadPool?
    let index: Int
    init(pool: ThreadPool, index: Int) {
        self.pool = pool
        self.index = index
    }
}

@inline(__always)
func _spinPause() {
    #if arch(x86_64) || arch(i386)
    _ck_spin_pause()
    #endif
}

/// Scratch memory reused across `matmul` calls so the hot path never allocates.
///
/// Each `ThreadPool` owns one (`pool.workspace`), and `matmul` uses it for the quantized copy
/// of the activations and for per-thread dequantization buffers. It grows to the largest size
/// requested and is never shrunk. Access is guarded by a lock, so two concurrent matmuls on
/// the same pool are safe (they serialize); use one pool per concurrently running engine thread.
/// The lock is not recursive: do not call `matmul` (or anything else using the same workspace)
/// from inside a `withBuffer` body.
public final class Workspace: @unchecked Sendable {
    private var buffer: UnsafeMutableRawPointer?
    private var capacity = 0
    private let lock: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        lock = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
    }

    deinit {
        buffer?.deallocate()
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    /// Bytes currently reserved.
    public var reservedBytes: Int { capacity }

    /// Run `body` with exclusive access to at least `bytes` bytes of 64-byte-aligned memory.
    public func withBuffer<R>(bytes: Int, _ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if bytes > capacity || buffer == nil {
            buffer?.deallocate()
            let newCapacity = max(bytes, capacity * 2, 4096)
            buffer = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 64)
            capacity = newCapacity
        }
        return try body(buffer!)
    }
}

/// Work for `ThreadPool.parallelFor(_:minChunk:job:)`: items `start..<end`, run on the thread
/// numbered `thread` (0 is the caller; two chunks with the same number never run at once).
public protocol ParallelJob {
    func run(_ start: Int, _ end: Int, _ thread: Int)
}
