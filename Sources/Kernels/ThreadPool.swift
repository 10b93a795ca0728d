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

    /// Scratch memory owned by the pool, used by `matmul` (see `Workspace`).
    public let workspace: Workspace

    // Job description, written by the caller before `generation` is bumped (release) and read
    // by workers after they observe the new generation (acquire).
    private var jobBody: ((Int, Int, Int) -> Void)?
    private var jobCount = 0
    private var jobChunk = 1
    private var jobChunks = 0

    private let generation = Atomic<Int>(0)
    private let nextChunk = Atomic<Int>(0)
    private let finishedWorkers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>
    private let callMutex: UnsafeMutablePointer<pthread_mutex_t>
    private var workers: [pthread_t] = []

    /// Spin iterations (each a `pause`) a worker waits for new work before parking.
    private let spinLimit = 1 << 14

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
        parallelForWithThreadIndex(count, minChunk: minChunk) { start, end, _ in body(start, end) }
    }

    /// As `parallelFor(_:minChunk:_:)`, and the body also receives the index (0..<threads) of the
    /// thread running it, for per-thread scratch space. 0 is the calling thread.
    public func parallelForWithThreadIndex(_ count: Int, minChunk: Int = 1, _ body: (Int, Int, Int) -> Void) {
        if count <= 0 { return }
        let grain = max(1, minChunk)
        if threads == 1 || count <= grain {
            body(0, count, 0)
            return
        }
        // About 4 chunks per thread balances load when other processes steal a core.
        var chunk = (count + threads * 4 - 1) / (threads * 4)
        chunk = (chunk + grain - 1) / grain * grain
        let chunks = (count + chunk - 1) / chunk
        if chunks == 1 {
            body(0, count, 0)
            return
        }
        pthread_mutex_lock(callMutex)
        defer { pthread_mutex_unlock(callMutex) }
        withoutActuallyEscaping(body) { escapable in
            jobBody = escapable
            jobCount = count
            jobChunk = chunk
            jobChunks = chunks
            nextChunk.store(0, ordering: .relaxed)
            finishedWorkers.store(0, ordering: .relaxed)
            pthread_mutex_lock(mutex)
            generation.add(1, ordering: .releasing)
            pthread_cond_broadcast(cond)
            pthread_mutex_unlock(mutex)

            runChunks(escapable, worker: 0)

            var spins = 0
            while finishedWorkers.load(ordering: .acquiring) < threads - 1 {
                spins += 1
                if spins < 4096 { _spinPause() } else { sched_yield() }
            }
            jobBody = nil
        }
    }

    @inline(__always)
    private func runChunks(_ body: (Int, Int, Int) -> Void, worker: Int) {
        let chunks = jobChunks, chunk = jobChunk, count = jobCount
        while true {
            let c = nextChunk.add(1, ordering: .relaxed).oldValue
            if c >= chunks { break }
            let start = c * chunk
            body(start, min(count, start + chunk), worker)
        }
    }

    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            var gen = generation.load(ordering: .acquiring)
            while gen == seen {
                if spins < spinLimit {
                    spins += 1
                    _spinPause()
                } else {
                    pthread_mutex_lock(mutex)
                    while generation.load(ordering: .acquiring) == seen {
                        pthread_cond_wait(cond, mutex)
                    }
                    pthread_mutex_unlock(mutex)
                }
                gen = generation.load(ordering: .acquiring)
            }
            seen = gen
            if stopping.load(ordering: .acquiring) { return }
            if let body = jobBody { runChunks(body, worker: index) }
            finishedWorkers.add(1, ordering: .releasing)
        }
    }
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
