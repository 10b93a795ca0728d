// The working set the samplers narrow down: (token id, logit) pairs. It is allocated once at
// vocabulary size and reused for every token, so sampling does not allocate per step.

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
    public private(set) var storage: [TokenLogit] = []
    /// How many candidates are left.
    public private(set) var count: Int = 0
    /// Whether the candidates are in `TokenLogit.precedes` order (most likely first).
    public private(set) var isSorted = false
    /// The token id a terminal sampler chose, or nil before that.
    public var selected: Int?

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

    /// Runs `body` over the live candidates; `body` may change logits but not reorder them
    /// unless it says so through the returned flag (true = still sorted).
    @inline(__always)
    mutating func withCandidates<R>(
        _ body: (UnsafeMutableBufferPointer<TokenLogit>) throws -> R
    ) rethrows -> R {
        let n = count
        return try storage.withUnsafeMutableBufferPointer { all in
            try body(UnsafeMutableBufferPointer(rebasing: all[0..<n]))
        }
    }

    /// Keeps only the first `newCount` candidates.
    mutating func truncate(to newCount: Int) {
        count = max(0, min(count, newCount))
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

    /// Marks the order as changed (after a sampler rescaled logits non-monotonically).
    mutating func markUnsorted() { isSorted = false }

    /// Puts the `k` most likely candidates first, sorted, without sorting the rest: a
    /// quickselect (expected O(n)) followed by a sort of the first `k`.
    mutating func sortTop(_ k: Int) {
        let k = min(k, count)
        if isSorted || k <= 0 { return }
        withCandidates { c in
            Self.select(c, k)
            var head = UnsafeMutableBufferPointer(rebasing: c[0..<k])
            head.sort(by: TokenLogit.precedes)
        }
        if k == count { isSorted = true }
    }

    /// Sorts all candidates, most likely first.
    mutating func sortAll() {
        sortTop(count)
        isSorted = true
    }

    /// Marks candidates whose first `k` are sorted and which were cut to `k` as sorted.
    mutating func markSortedAfterTruncating(to k: Int) {
        truncate(to: k)
        isSorted = true
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
