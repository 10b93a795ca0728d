// Splits text around special tokens before the model sees it, as llama.cpp's
// tokenizer_st_partition does: special tokens are taken longest first, and each one splits every
// remaining text piece at its leftmost non-overlapping occurrences. Control and unknown tokens take
// part only when special tokens are parsed; user-defined tokens always do.
//
// Running that loop over every special token would cost one pass over the text per token (Gemma
// has over 6,000), so a trie first finds which tokens occur at all, and only those run the loop.

/// One piece of partitioned text: a byte range of raw text, or a special token.
struct Fragment {
    var start: Int
    var end: Int
    /// The special token, or -1 for raw text.
    var token: Int32
}

struct SpecialTokenPartitioner: Sendable {
    /// Candidate tokens in priority order (longest text first, then lowest id).
    private let candidates: [Int32]
    private let candidateBytes: [[UInt8]]
    /// Trie over the candidate texts: the root's children by byte, deeper edges in a dictionary.
    private let rootChildren: [Int32]
    private let edges: [UInt64: Int32]
    /// Candidate index ending at each trie node, or -1.
    private let terminal: [Int32]

    var isEmpty: Bool { candidates.isEmpty }

    init(vocab: Vocabulary, ids: [Int32]) {
        let sorted = ids.sorted { a, b in
            let la = vocab.textBytes(Int(a)).count, lb = vocab.textBytes(Int(b)).count
            return la != lb ? la > lb : a < b
        }
        var cands: [Int32] = []
        var bytes: [[UInt8]] = []
        var root = [Int32](repeating: -1, count: 256)
        var edges: [UInt64: Int32] = [:]
        var terminal: [Int32] = [-1]  // node 0 is the root
        for id in sorted {
            let text = Array(vocab.textBytes(Int(id)))
            guard !text.isEmpty else { continue }
            let ci = Int32(cands.count)
            cands.append(id)
            bytes.append(text)
            var node: Int32 = 0
            for (k, b) in text.enumerated() {
                var child: Int32
                if k == 0 {
                    child = root[Int(b)]
                } else {
                    child = edges[UInt64(node) << 8 | UInt64(b)] ?? -1
                }
                if child < 0 {
                    child = Int32(terminal.count)
                    terminal.append(-1)
                    if k == 0 { root[Int(b)] = child } else { edges[UInt64(node) << 8 | UInt64(b)] = child }
                }
                node = child
            }
            // Equal texts (duplicates) keep the first, higher-priority candidate.
            if terminal[Int(node)] < 0 { terminal[Int(node)] = ci }
        }
        candidates = cands
        candidateBytes = bytes
        rootChildren = root
        self.edges = edges
        self.terminal = terminal
    }

    /// Partitions `text` into fragments.
    func partition(_ text: UnsafeBufferPointer<UInt8>, into fragments: inout [Fragment], scratch: inout [Fragment]) {
        fragments.removeAll(keepingCapacity: true)
        let n = text.count
        guard n > 0, let base = text.baseAddress else { return }
        fragments.append(Fragment(start: 0, end: n, token: -1))
        guard !candidates.isEmpty else { return }
        // Which candidates occur anywhere in the text?
        var occurs = [Bool](repeating: false, count: candidates.count)
        var any = false
        for pos in 0..<n {
            var node = rootChildren[Int(base[pos])]
            var q = pos + 1
            while node >= 0 {
                let t = terminal[Int(node)]
                if t >= 0 { occurs[Int(t)] = true; any = true }
                guard q < n else { break }
                node = edges[UInt64(node) << 8 | UInt64(base[q])] ?? -1
                q += 1
            }
        }
        guard any else { return }
        for ci in 0..<candidates.count where occurs[ci] {
            let token = candidates[ci]
            candidateBytes[ci].withUnsafeBufferPointer { pat in
                scratch.removeAll(keepingCapacity: true)
                for f in fragments {
                    guard f.token < 0 else { scratch.append(f); continue }
                    var from = f.start
                    while let m = Self.find(pat, in: base, from: from, to: f.end) {
                        if m > from { scratch.append(Fragment(start: from, end: m, token: -1)) }
                        scratch.append(Fragment(start: m, end: m + pat.count, token: token))
                        from = m + pat.count
                    }
                    if from < f.end { scratch.append(Fragment(start: from, end: f.end, token: -1)) }
                }
                swap(&fragments, &scratch)
            }
        }
    }

    /// The first occurrence of `pat` in base[from ..< to].
    @inline(__always)
    private static func find(_ pat: UnsafeBufferPointer<UInt8>, in base: UnsafePointer<UInt8>, from: Int, to: Int) -> Int? {
        let m = pat.count
        guard m > 0, to - from >= m else { return nil }
        let first = pat[0]
        var i = from
        let last = to - m
        while i <= last {
            if base[i] == first && memcmpBytes(base + i, pat.baseAddress!, m) { return i }
            i += 1
        }
        return nil
    }
}
