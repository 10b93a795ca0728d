// The working set the samplers narrow down: (token id, logit) pairs. It is allocated once at
// vocabulary size and reused for every token, so sampling does not allocate per step.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One candidate token and its (possibly transformed) logit.
public struct TokenLogit: Sendable, Equatable {
    public var id: Int32
    public var logit: Float

    public init(id: Int32, logit: Float) {
        self.id = id
        self.logit = logit
    }

    /// The order samplers sort in: higher logit first, then lower id, a total order so that
    /// partial selection and sorting give the same result on every platform.
    @inline(__always)
    static func precedes(_ a: TokenLogit, _ b: TokenLogit) -> Bool {
        a.logit > b.logit || (a.logit == b.logit && a.id < b.id)
    }
}

/// The candidates still in play for the next token, and the one chosen, if any.
public struct SamplerCandidates: Sendable {
    /// Storage of vocabulary size; only the first `count` entries are candidates.
    private(set) var storage: [TokenLogit] = []
    /// How many candidates are left.
    public private(set) var count: Int = 0
    /// Whether the candidates are in `TokenLogit.precedes` order (most likely first).
    public private(set) var isSorted = false
    /// The token id a terminal sampler chose, or nil before that.
    public var selected: Int?
    /// Scratch for partial selection and drawing, kept between steps so sampling does not
    /// allocate per token.
    private var bucketCounts: [Int] = []
    private var bucketMass: [Float] = []
    var weights: [Float] = []

    public init() {}

    /// Candidates built from a full logits vector: every token, in id order. NaN logits (a
    /// broken model) are treated as -infinity, so they can never be chosen.
    public init(logits: [Float]) {
        logits.withUnsafeBufferPointer { load($0) }
    }

    /// Refills the candidates from a full logits vector, reusing the storage.
    public mutating func load(_ logits: UnsafeBufferPointer<Float>) {
        let n = logits.count
        if storage.count != n {
            storage = [TokenLogit](repeating: TokenLogit(id: 0, logit: 0), count: n)
        }
        storage.withUnsafeMutableBufferPointer { dst in
            for i in 0..<n {
                let x = logits[i]
                dst[i] = TokenLogit(id: Int32(truncatingIfNeeded: i), logit: x.isNaN ? -.infinity : x)
            }
        }
        count = n
        isSorted = false
        selected = nil
    }

    /// The live candidates.
    public var candidates: ArraySlice<TokenLogit> { storage[0..<count] }

    /// Runs `body` over the live candidates. A body that reorders them or changes logits
    /// non-uniformly must not be used on sorted candidates without clearing `isSorted`.
    @inline(__always)
    mutating func withCandidates<R>(
        _ body: (UnsafeMutableBufferPointer<TokenLogit>) throws -> R
    ) rethrows -> R {
        let n = count
        return try storage.withUnsafeMutableBufferPointer { all in
            try body(UnsafeMutableBufferPointer(rebasing: all[0..<n]))
        }
    }

    /// Keeps the candidates for which `keep` is true, preserving their order.
    mutating func filter(_ keep: (TokenLogit) -> Bool) {
        let kept = withCandidates { c -> Int in
            var j = 0
            for i in 0..<c.count where keep(c[i]) {
                c[j] = c[i]
                j += 1
            }
            return j
        }
        count = kept
    }

    // MARK: Partial selection
    //
    // Large vocabularies are never fully sorted when a prefix will do. Candidates are first
    // binned by how far their logit lies below the maximum (256 buckets over 32 logit units;
    // everything further down shares the last bucket). Counting (top-k) or weighing (top-p) the
    // buckets from the top tells which buckets must be kept; those are moved to the front in one
    // pass, and only they are selected and sorted. Bucket order follows logit order, so the
    // front is exactly the best candidates.

    static let bucketCount = 256
    static let bucketScale: Float = Float(bucketCount) / 32

    @inline(__always)
    static func bucket(_ logit: Float, below maxLogit: Float) -> Int {
        let d = (maxLogit - logit) * bucketScale
        // NaN (all candidates -infinity) and anything past the range fall into the last bucket.
        return d < Float(bucketCount - 1) ? Int(d) : bucketCount - 1
    }

    /// Moves the candidates whose bucket is at most `last` to the front; returns how many.
    private mutating func moveToFront(bucketsThrough last: Int, maxLogit: Float) -> Int {
        withCandidates { c in
            var front = 0
            for i in 0..<c.count where Self.bucket(c[i].logit, below: maxLogit) <= last {
                c.swapAt(i, front)
                front += 1
            }
            return front
        }
    }

    /// Keeps exactly the `k` most likely candidates, sorted most likely first.
    mutating func keepTop(_ k: Int) {
        let k = min(max(k, 0), count)
        if isSorted || k == count {
            if !isSorted { sortRange(0, count) }
            count = k
            isSorted = true
            return
        }
        let maxLogit = self.maxLogit
        var histogram = [Int]()
        swap(&histogram, &bucketCounts)
        if histogram.count != Self.bucketCount {
            histogram = [Int](repeating: 0, count: Self.bucketCount)
        }
        withCandidates { c in
            for x in c { histogram[Self.bucket(x.logit, below: maxLogit)] += 1 }
        }
        var last = Self.bucketCount - 1
        var seen = 0
        for b in 0..<Self.bucketCount {
            seen += histogram[b]
            histogram[b] = 0
            if seen >= k {
                last = b
                for rest in (b + 1)..<Self.bucketCount { histogram[rest] = 0 }
                break
            }
        }
        swap(&histogram, &bucketCounts)
        let front = moveToFront(bucketsThrough: last, maxLogit: maxLogit)
        withCandidates { c in
            Self.select(UnsafeMutableBufferPointer(rebasing: c[0..<front]), k)
        }
        sortRange(0, k)
        count = k
        isSorted = true
    }

    /// Keeps the smallest set of most likely candidates whose softmax mass reaches `p`
    /// (at least one), sorted most likely first.
    mutating func keepTopMass(_ p: Float) {
        guard count > 0 else { return }
        let maxLogit = self.maxLogit
        guard maxLogit > -.infinity else { return }
        var mass = [Float]()
        swap(&mass, &bucketMass)
        if mass.count != Self.bucketCount {
            mass = [Float](repeating: 0, count: Self.bucketCount)
        }
        let total = withCandidates { c -> Float in
            var sum: Float = 0
            for x in c {
                let w = expf(x.logit - maxLogit)
                sum += w
                mass[Self.bucket(x.logit, below: maxLogit)] += w
            }
            return sum
        }
        let target = p * total
        var front = count
        if !isSorted {
            var last = Self.bucketCount - 1
            var running: Float = 0
            for b in 0..<Self.bucketCount {
                running += mass[b]
                if running >= target {
                    last = b
                    break
                }
            }
            front = moveToFront(bucketsThrough: last, maxLogit: maxLogit)
            sortRange(0, front)
        }
        for b in 0..<Self.bucketCount { mass[b] = 0 }
        swap(&mass, &bucketMass)

        var running: Float = 0
        var i = 0
        var limit = front
        while true {
            let keep = withCandidates { c -> Int? in
                while i < limit {
                    running += expf(c[i].logit - maxLogit)
                    i += 1
                    if running >= target { return i }
                }
                return nil
            }
            if let keep {
                count = keep
                isSorted = true
                return
            }
            if limit == count {
                isSorted = true
                return
            }
            // Summation order moved the boundary past the kept buckets: sort the rest too.
            sortRange(limit, count)
            limit = count
        }
    }

    /// Draws a candidate with probability softmax(logit), `u` being uniform in [0, 1); returns
    /// its token id. With every candidate at -infinity there is no distribution, and the first
    /// candidate is returned.
    mutating func draw(_ u: Double) -> Int? {
        guard count > 0 else { return nil }
        let maxLogit = self.maxLogit
        guard maxLogit > -.infinity else { return Int(storage[0].id) }
        if weights.count < count {
            weights = [Float](repeating: 0, count: storage.count)
        }
        let n = count
        return storage.withUnsafeBufferPointer { c in
            weights.withUnsafeMutableBufferPointer { w in
                var total = 0.0
                for i in 0..<n {
                    let e = expf(c[i].logit - maxLogit)
                    w[i] = e
                    total += Double(e)
                }
                let target = u * total
                var running = 0.0
                var lastPositive = 0
                for i in 0..<n where w[i] > 0 {
                    lastPositive = i
                    running += Double(w[i])
                    if running > target { return Int(c[i].id) }
                }
                // Rounding left `target` just above the running sum: take the last possible token.
                return Int(c[lastPositive].id)
            }
        }
    }

    /// Sorts all candidates, most likely first.
    mutating func sortAll() {
        if !isSorted { sortRange(0, count) }
        isSorted = true
    }

    private mutating func sortRange(_ from: Int, _ to: Int) {
        guard to - from > 1 else { return }
        storage.withUnsafeMutableBufferPointer { all in
            var part = UnsafeMutableBufferPointer(rebasing: all[from..<to])
            part.sort(by: TokenLogit.precedes)
        }
    }

    /// The largest logit among the candidates (-infinity if there are none).
    var maxLogit: Float {
        if isSorted, count > 0 { return storage[0].logit }
        let n = count
        return storage.withUnsafeBufferPointer { all in
            var m = -Float.infinity
            for i in 0..<n where all[i].logit > m { m = all[i].logit }
            return m
        }
    }

    /// Quickselect: rearranges `c` so that its first `k` entries are the `k` that come first
    /// in `TokenLogit.precedes` order (in no particular order among themselves).
    static func select(_ c: UnsafeMutableBufferPointer<TokenLogit>, _ k: Int) {
        var lo = 0
        var hi = c.count - 1
        if k <= 0 || k >= c.count { return }
        while hi > lo {
            if hi - lo < 16 {
                // Small range: insertion sort finishes it.
                var i = lo + 1
                while i <= hi {
                    let x = c[i]
                    var j = i - 1
                    while j >= lo && TokenLogit.precedes(x, c[j]) {
                        c[j + 1] = c[j]
                        j -= 1
                    }
                    c[j + 1] = x
                    i += 1
                }
                return
            }
            // Median of three as pivot, placed at `hi`.
            let mid = lo + (hi - lo) / 2
            if TokenLogit.precedes(c[mid], c[lo]) { c.swapAt(mid, lo) }
            if TokenLogit.precedes(c[hi], c[lo]) { c.swapAt(hi, lo) }
            if TokenLogit.precedes(c[mid], c[hi]) { c.swapAt(mid, hi) }
            let pivot = c[hi]
            var store = lo
            for i in lo..<hi where TokenLogit.precedes(c[i], pivot) {
                c.swapAt(i, store)
                store += 1
            }
            c.swapAt(store, hi)
            // c[lo..<store] precede the pivot, which now sits at `store`.
            if store == k || store == k - 1 { return }
            if store > k { hi = store - 1 } else { lo = store + 1 }
        }
    }
}
