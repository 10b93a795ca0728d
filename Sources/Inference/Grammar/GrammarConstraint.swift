// The grammar as the sampler uses it for one sequence: is this token allowed, which tokens are,
// and the state after a token. The last few masks are remembered by state, because generation
// keeps coming back to the same states (inside a string, after a comma, …).

/// One sequence's grammar state over a vocabulary.
public struct GrammarConstraint: Sendable {
    public private(set) var matcher: GrammarMatcher
    public let vocabulary: GrammarVocabulary
    private var masks: [MaskKey: GrammarTokenMask] = [:]
    private static let maskCacheSize = 32

    private struct MaskKey: Hashable {
        var tops: [Int32]
        var canEnd: Bool
        var partial: UInt32
        var remaining: UInt8
    }

    public init(grammar: Grammar, vocabulary: GrammarVocabulary) {
        matcher = GrammarMatcher(grammar: grammar)
        self.vocabulary = vocabulary
    }

    /// Whether `token` may come next (cheap: walks only that token's bytes).
    public mutating func allows(_ token: Int) -> Bool {
        matcher.allows(token: token, in: vocabulary)
    }

    /// Every token that may come next.
    public mutating func allowedTokens() -> GrammarTokenMask {
        let key = MaskKey(
            tops: matcher.tops.sorted(), canEnd: matcher.canEnd, partial: matcher.partial, remaining: matcher.remaining)
        if let mask = masks[key] { return mask }
        let mask = matcher.allowedTokens(in: vocabulary)
        if masks.count >= Self.maskCacheSize { masks.removeAll(keepingCapacity: true) }
        masks[key] = mask
        return mask
    }

    /// Advances past `token` (an end-of-generation id leaves the state as it is).
    public mutating func accept(_ token: Int) {
        guard token >= 0 && token < vocabulary.size, !vocabulary.endOfGeneration.contains(token) else { return }
        let before = matcher.arena.count
        matcher.accept(vocabulary.tokenBytes[token])
        // A compaction renumbers the nodes the cached masks are keyed by.
        if matcher.arena.count < before { masks.removeAll() }
    }

    /// Whether the grammar is complete and nothing more may follow.
    public var isComplete: Bool { matcher.isComplete }
    /// Whether the text so far is a complete sentence of the grammar.
    public var canEnd: Bool { matcher.canEnd && matcher.remaining == 0 }
}
