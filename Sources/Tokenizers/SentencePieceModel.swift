// SentencePiece BPE as llama.cpp's llm_tokenizer_spm_session does it: the text (spaces already
// replaced by U+2581) starts as one symbol per UTF-8 character; the adjacent pair whose
// concatenation is a token with the highest score is merged, the leftmost on ties, until no pair
// forms a token. Symbols that are not tokens are spelled with byte-fallback tokens <0xNN>.

struct SentencePieceModel: Sendable {
    /// The byte-fallback token of each byte: `<0xNN>`, else the byte as a one-byte token, else unk.
    let byteTokens: [Int32]

    init(vocab: Vocabulary, unknownTokenID: TokenID?) {
        let hex = Array("0123456789ABCDEF".utf8)
        byteTokens = (0..<256).map { b in
            let name: [UInt8] = [0x3C, 0x30, 0x78, hex[b >> 4], hex[b & 15], 0x3E]  // <0xNN>
            let id = name.withUnsafeBufferPointer { vocab.id($0.baseAddress!, 6) }
            if id >= 0 { return id }
            var byte = UInt8(b)
            let single = withUnsafePointer(to: &byte) { vocab.id($0, 1) }
            if single >= 0 { return single }
            return unknownTokenID ?? -1
        }
    }

    /// Encodes `text` (already escaped), appending token ids.
    func encode(_ text: UnsafeBufferPointer<UInt8>, vocab: Vocabulary, into out: inout [TokenID], scratch s: inout SPMScratch) {
        let n = text.count
        guard n > 0, let base = text.baseAddress else { return }
        s.reset()
        var offs = 0
        var index: Int32 = 0
        while offs < n {
            let b = base[offs]
            let len = min(n - offs, b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4)
            s.start.append(Int32(offs))
            s.len.append(Int32(len))
            s.prev.append(index - 1)
            offs += len
            s.next.append(offs == n ? -1 : index + 1)
            index += 1
        }
        for i in 1..<s.start.count { tryAddPair(i - 1, i, base, vocab, &s) }
        while let e = s.heap.popMax() {
            let l = Int(e.left), r = Int(e.right)
            let ln = s.len[l], rn = s.len[r]
            // Skip pairs made stale by an earlier merge.
            guard ln != 0, rn != 0, ln + rn == e.size else { continue }
            s.len[l] = ln + rn
            s.len[r] = 0
            let nr = s.next[r]
            s.next[l] = nr
            if nr >= 0 { s.prev[Int(nr)] = Int32(l) }
            if s.prev[l] >= 0 { tryAddPair(Int(s.prev[l]), l, base, vocab, &s) }
            if nr >= 0 { tryAddPair(l, Int(nr), base, vocab, &s) }
        }
        var i = 0
        while i >= 0 {
            let st = Int(s.start[i]), ln = Int(s.len[i])
            let id = vocab.id(base + st, ln)
            if id >= 0 {
                out.append(id)
            } else {
                for j in 0..<ln {
                    let t = byteTokens[Int(base[st + j])]
                    if t >= 0 { out.append(t) }
                }
            }
            i = Int(s.next[i])
        }
    }

    @inline(__always)
    private func tryAddPair(_ l: Int, _ r: Int, _ base: UnsafePointer<UInt8>, _ vocab: Vocabulary, _ s: inout SPMScratch) {
        let size = s.len[l] + s.len[r]
        let id = vocab.id(base + Int(s.start[l]), Int(size))
        guard id >= 0 else { return }
        s.heap.push(SPMHeapEntry(score: vocab.scores[Int(id)], left: Int32(l), right: Int32(r), size: size))
    }
}

struct SPMHeapEntry {
    var score: Float
    var left: Int32
    var right: Int32
    var size: Int32

    /// Whether `self` comes out of the queue before `o`: higher score first, then the leftmost.
    @inline(__always)
    func before(_ o: SPMHeapEntry) -> Bool { score > o.score || (score == o.score && left < o.left) }
}

/// A binary heap of merge candidates, best first.
struct SPMHeap {
    var items: [SPMHeapEntry] = []

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ e: SPMHeapEntry) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) >> 1
            if !e.before(items[p]) { break }
            items[i] = items[p]
            i = p
        }
        items[i] = e
    }

    mutating func popMax() -> SPMHeapEntry? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        let n = items.count
        var i = 0
        while true {
            var c = 2 * i + 1
            if c >= n { break }
            if c + 1 < n && items[c + 1].before(items[c]) { c += 1 }
            if !items[c].before(last) { break }
            items[i] = items[c]
            i = c
        }
        items[i] = last
        return top
    }
}

struct SPMScratch {
    var start: [Int32] = []
    var len: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var heap = SPMHeap()
    var escaped: [UInt8] = []

    mutating func reset() {
        start.removeAll(keepingCapacity: true)
        len.removeAll(keepingCapacity: true)
        prev.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        heap.removeAll()
    }
}
