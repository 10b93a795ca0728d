// Byte-level BPE as llama.cpp's llm_tokenizer_bpe_session does it: each word starts as one symbol
// per byte (spelled in GPT-2's byte alphabet); the adjacent pair with the lowest merge rank is
// merged, the leftmost on ties, until no pair has a rank. Symbols are ids rather than strings: a
// vocabulary id where the text is a token, or a "synthetic" id past the vocabulary for merge
// results that are not tokens (those fall back to single-byte tokens at the end, as llama.cpp).

struct BytePairModel: Sendable {
    /// The symbol of each raw byte.
    let byteSymbols: [Int32]
    /// (left symbol << 32 | right symbol) → (rank << 32 | merged symbol).
    let merges: PairTable
    let vocabularySize: Int32
    /// Byte-alphabet texts of the synthetic symbols (index = symbol - vocabularySize).
    let syntheticTexts: [[UInt8]]
    /// Llama 3: a word that is a whole token is not merged.
    let ignoreMerges: Bool

    init(vocab: Vocabulary, merges mergeList: [String], ignoreMerges: Bool) throws(TokenizerError) {
        let size = Int32(vocab.count)
        vocabularySize = size
        self.ignoreMerges = ignoreMerges
        var synthetic: [[UInt8]: Int32] = [:]
        var syntheticTexts: [[UInt8]] = []
        func symbol(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
            let id = vocab.id(p, n)
            if id >= 0 { return id }
            let key = Array(UnsafeBufferPointer(start: p, count: n))
            if let s = synthetic[key] { return s }
            let s = size + Int32(syntheticTexts.count)
            synthetic[key] = s
            syntheticTexts.append(key)
            return s
        }
        var bytes = [Int32](repeating: 0, count: 256)
        for b in 0..<256 {
            bytes[b] = ByteLevel.byteToUTF8[b].withUnsafeBufferPointer { symbol($0.baseAddress!, $0.count) }
        }
        byteSymbols = bytes
        var table = PairTable(minimumCapacity: mergeList.count)
        var joined: [UInt8] = []
        for (rank, merge) in mergeList.enumerated() {
            var m = merge
            m.withUTF8 { w in
                // Split at the first space after the first byte, as llama.cpp does.
                guard w.count > 2, let base = w.baseAddress else { return }
                var sp = 1
                while sp < w.count && w[sp] != 0x20 { sp += 1 }
                guard sp < w.count else { return }
                let left = symbol(base, sp)
                let right = symbol(base + sp + 1, w.count - sp - 1)
                joined.removeAll(keepingCapacity: true)
                joined.append(contentsOf: UnsafeBufferPointer(start: base, count: sp))
                joined.append(contentsOf: UnsafeBufferPointer(start: base + sp + 1, count: w.count - sp - 1))
                let merged = joined.withUnsafeBufferPointer { symbol($0.baseAddress!, $0.count) }
                table.insertIfAbsent(UInt64(UInt32(left)) << 32 | UInt64(UInt32(right)),
                                     UInt64(UInt32(rank)) << 32 | UInt64(UInt32(merged)))
            }
        }
        merges = table
        self.syntheticTexts = syntheticTexts
    }

    /// Encodes one pre-tokenized word (raw bytes), appending token ids.
    func encodeWord(_ word: UnsafePointer<UInt8>, _ n: Int, vocab: Vocabulary, into out: inout [TokenID], scratch s: inout BPEScratch) {
        if n == 1 {
            emit(byteSymbols[Int(word[0])], vocab: vocab, into: &out)
            return
        }
        if ignoreMerges {
            s.encoded.removeAll(keepingCapacity: true)
            for i in 0..<n { s.encoded.append(contentsOf: ByteLevel.byteToUTF8[Int(word[i])]) }
            let id = s.encoded.withUnsafeBufferPointer { vocab.id($0.baseAddress!, $0.count) }
            if id >= 0 {
                out.append(id)
                return
            }
        }
        s.reset(n)
        for i in 0..<n {
            s.sym.append(byteSymbols[Int(word[i])])
            s.prev.append(Int32(i - 1))
            s.next.append(i + 1 < n ? Int32(i + 1) : -1)
        }
        for i in 1..<n { addPair(i - 1, i, &s) }
        while let e = s.heap.popMin() {
            let l = Int(e.left), r = Int(e.right)
            // Skip pairs made stale by an earlier merge.
            guard s.sym[l] >= 0, s.sym[r] >= 0, s.sym[l] == e.leftSymbol, s.sym[r] == e.rightSymbol else { continue }
            s.sym[l] = e.merged
            s.sym[r] = -1
            let nr = s.next[r]
            s.next[l] = nr
            if nr >= 0 { s.prev[Int(nr)] = Int32(l) }
            if s.prev[l] >= 0 { addPair(Int(s.prev[l]), l, &s) }
            if nr >= 0 { addPair(l, Int(nr), &s) }
        }
        var i = 0
        while i >= 0 {
            emit(s.sym[i], vocab: vocab, into: &out)
            i = Int(s.next[i])
        }
    }

    @inline(__always)
    private func addPair(_ l: Int, _ r: Int, _ s: inout BPEScratch) {
        let a = s.sym[l], b = s.sym[r]
        guard let v = merges.lookup(UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))) else { return }
        s.heap.push(BPEHeapEntry(rank: Int32(truncatingIfNeeded: v >> 32), left: Int32(l), right: Int32(r),
                                 leftSymbol: a, rightSymbol: b, merged: Int32(truncatingIfNeeded: v)))
    }

    @inline(__always)
    private func emit(_ symbol: Int32, vocab: Vocabulary, into out: inout [TokenID]) {
        if symbol < vocabularySize {
            out.append(symbol)
            return
        }
        // Not a token: llama.cpp looks up each byte of the text on its own and drops misses.
        for byte in syntheticTexts[Int(symbol - vocabularySize)] {
            var b = byte
            let id = withUnsafePointer(to: &b) { vocab.id($0, 1) }
            if id >= 0 { out.append(id) }
        }
    }
}

struct BPEHeapEntry {
    var rank: Int32
    var left: Int32
    var right: Int32
    var leftSymbol: Int32
    var rightSymbol: Int32
    var merged: Int32

    /// Lower rank first, then the leftmost pair.
    @inline(__always)
    var key: UInt64 { UInt64(UInt32(rank)) << 32 | UInt64(UInt32(left)) }
}

/// A binary min-heap of merge candidates.
struct BPEHeap {
    var items: [BPEHeapEntry] = []

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ e: BPEHeapEntry) {
        items.append(e)
        var i = items.count - 1
        let k = e.key
        while i > 0 {
            let p = (i - 1) >> 1
            if items[p].key <= k { break }
            items[i] = items[p]
            i = p
        }
        items[i] = e
    }

    mutating func popMin() -> BPEHeapEntry? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        let n = items.count
        let k = last.key
        var i = 0
        while true {
            var c = 2 * i + 1
            if c >= n { break }
            if c + 1 < n && items[c + 1].key < items[c].key { c += 1 }
            if items[c].key >= k { break }
            items[i] = items[c]
            i = c
        }
        items[i] = last
        return top
    }
}

struct BPEScratch {
    var sym: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var heap = BPEHeap()
    var encoded: [UInt8] = []

    mutating func reset(_ n: Int) {
        sym.removeAll(keepingCapacity: true)
        prev.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        heap.removeAll()
    }
}
