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
        var walk = MaskWalk()
        let start = walk.intern(GrammarWalkState(tops: tops, canEnd: canEnd, partial: partial, remaining: remaining))
        walkTrie(node: 0, state: start, vocabulary: vocabulary, walk: &walk, mask: &mask)
        return mask
    }

    /// Depth-first over the trie. Many trie nodes are reached in the same grammar state (inside
    /// a string, every ordinary character leads back to the same state), so the byte
    /// transitions of each state are computed once and then looked up.
    private mutating func walkTrie(
        node: Int, state: Int32, vocabulary v: GrammarVocabulary, walk: inout MaskWalk, mask: inout GrammarTokenMask
    ) {
        let first = Int(v.childStart[node]), last = Int(v.childStart[node + 1])
        guard first < last else { return }
        for c in first..<last {
            let byte = v.childByte[c]
            var next = walk.transitions[Int(state) &* 256 &+ Int(byte)]
            if next == MaskWalk.unknown {
                next = transition(from: state, byte: byte, walk: &walk)
                walk.transitions[Int(state) &* 256 &+ Int(byte)] = next
            }
            guard next >= 0 else { continue }
            let child = Int(v.childNode[c])
            for t in Int(v.tokenStart[child])..<Int(v.tokenStart[child + 1]) { mask.insert(Int(v.tokens[t])) }
            if walk.hasTops[Int(next)] { walkTrie(node: child, state: next, vocabulary: v, walk: &walk, mask: &mask) }
        }
    }

    private mutating func transition(from state: Int32, byte: UInt8, walk: inout MaskWalk) -> Int32 {
        let s = walk.states[Int(state)]
        var buffer = s.tops
        let frame = GrammarFrame(start: 0, count: s.tops.count, canEnd: s.canEnd, partial: s.partial, remaining: s.remaining)
        guard let f = step(byte, from: frame, buffer: &buffer) else { return MaskWalk.dead }
        return walk.intern(GrammarWalkState(
            tops: Array(buffer[f.start..<(f.start + f.count)]), canEnd: f.canEnd, partial: f.partial, remaining: f.remaining))
    }

    /// Whether token `id`'s bytes may come next (end-of-generation ids: whether the grammar may end).
    public mutating func allows(token id: Int, in vocabulary: GrammarVocabulary) -> Bool {
        guard id >= 0 && id < vocabulary.size else { return false }
        if vocabulary.endOfGeneration.contains(id) { return canEnd && remaining == 0 }
        let bytes = vocabulary.tokenBytes[id]
        return !bytes.isEmpty && accepts(bytes)
    }
}

/// A matcher state as the mask walk keys it.
struct GrammarWalkState: Hashable {
    var tops: [Int32]
    var canEnd: Bool
    var partial: UInt32
    var remaining: UInt8
}

/// The states met during one mask walk and their byte transitions.
struct MaskWalk {
    static let unknown: Int32 = -2
    static let dead: Int32 = -1
    var states: [GrammarWalkState] = []
    var hasTops: [Bool] = []
    var ids: [GrammarWalkState: Int32] = [:]
    /// 256 entries per state: the next state, `dead`, or `unknown`.
    var transitions: [Int32] = []

    mutating func intern(_ s: GrammarWalkState) -> Int32 {
        var key = s
        key.tops.sort()
        if let id = ids[key] { return id }
        let id = Int32(states.count)
        states.append(key)
        hasTops.append(!key.tops.isEmpty)
        ids[key] = id
        transitions.append(contentsOf: repeatElement(Self.unknown, count: 256))
        return id
    }
}
