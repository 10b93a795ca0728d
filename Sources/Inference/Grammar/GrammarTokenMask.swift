// Which token ids the grammar allows next: a depth-first walk of the vocabulary trie carrying
// the matcher state, pruning at the first byte the grammar rejects. States recur (interned
// stacks make equal states equal), so the last few masks are kept per matcher.

/// A set of token ids as a bitset.
public struct GrammarTokenMask: Sendable, Equatable {
    public private(set) var words: [UInt64]
    public let count: Int

    init(count: Int) {
        self.count = count
        words = [UInt64](repeating: 0, count: (count + 63) / 64)
    }

    @inline(__always)
    public func contains(_ id: Int) -> Bool {
        id >= 0 && id < count && words[id >> 6] & (1 << UInt64(id & 63)) != 0
    }

    @inline(__always)
    mutating func insert(_ id: Int) {
        words[id >> 6] |= 1 << UInt64(id & 63)
    }

    /// The ids in the set, ascending.
    public var ids: [Int] {
        var out: [Int] = []
        for (w, word) in words.enumerated() {
            var bits = word
            while bits != 0 {
                out.append(w << 6 + bits.trailingZeroBitCount)
                bits &= bits - 1
            }
        }
        return out
    }

    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }
}

extension GrammarMatcher {
    /// The tokens of `vocabulary` that may come next: each whose bytes the grammar accepts, and
    /// the end-of-generation ids when the grammar may end here.
    public mutating func allowedTokens(in vocabulary: GrammarVocabulary) -> GrammarTokenMask {
        var mask = GrammarTokenMask(count: vocabulary.size)
        if canEnd && remaining == 0 {
            for id in vocabulary.endOfGeneration { mask.insert(id) }
        }
        guard !tops.isEmpty else { return mask }
        var buffer = tops
        walk(node: 0, frame: currentFrame, vocabulary: vocabulary, buffer: &buffer, mask: &mask)
        return mask
    }

    private mutating func walk(
        node: Int, frame: GrammarFrame, vocabulary v: GrammarVocabulary, buffer: inout [Int32], mask: inout GrammarTokenMask
    ) {
        let first = Int(v.childStart[node]), last = Int(v.childStart[node + 1])
        guard first < last else { return }
        for c in first..<last {
            let mark = buffer.count
            if let next = step(v.childByte[c], from: frame, buffer: &buffer) {
                let child = Int(v.childNode[c])
                for t in Int(v.tokenStart[child])..<Int(v.tokenStart[child + 1]) { mask.insert(Int(v.tokens[t])) }
                if next.count > 0 { walk(node: child, frame: next, vocabulary: v, buffer: &buffer, mask: &mask) }
            }
            buffer.removeSubrange(mark...)
        }
    }

    /// Whether token `id`'s bytes may come next (end-of-generation ids: whether the grammar may end).
    public mutating func allows(token id: Int, in vocabulary: GrammarVocabulary) -> Bool {
        guard id >= 0 && id < vocabulary.size else { return false }
        if vocabulary.endOfGeneration.contains(id) { return canEnd && remaining == 0 }
        let bytes = vocabulary.tokenBytes[id]
        return !bytes.isEmpty && accepts(bytes)
    }
}
