// The vocabulary as the grammar sees it: each token id's bytes, arranged in a trie so that a
// mask is computed by walking shared prefixes once (a dead prefix prunes every token below it)
// instead of matching every token of the vocabulary. Built once per tokenizer and shared.

import Synchronization
import Tokenizers

/// Token bytes in a prefix trie, plus the end-of-generation ids.
public final class GrammarVocabulary: Sendable {
    /// Number of token ids covered (ids at or above it are never allowed under a grammar).
    public let size: Int
    /// End-of-generation ids: allowed only where the grammar may end.
    public let endOfGeneration: [Int]
    let tokenBytes: [[UInt8]]
    // Trie nodes: children of node n are childByte/childNode[childStart[n]..<childStart[n + 1]],
    // tokens ending at node n are tokens[tokenStart[n]..<tokenStart[n + 1]]. Node 0 is the root.
    let childStart: [Int32]
    let childByte: [UInt8]
    let childNode: [Int32]
    let tokenStart: [Int32]
    let tokens: [Int32]

    /// A vocabulary from each id's bytes. Tokens with no bytes (control tokens) and the
    /// end-of-generation ids are left out of the trie: under a grammar they are never text.
    public init(tokenBytes: [[UInt8]], endOfGeneration: Set<Int>) {
        size = tokenBytes.count
        self.endOfGeneration = endOfGeneration.filter { $0 >= 0 && $0 < tokenBytes.count }.sorted()
        self.tokenBytes = tokenBytes
        // Build with per-node child lists, then lay the nodes out breadth-first.
        var kids: [[(UInt8, Int32)]] = [[]]
        var ends: [[Int32]] = [[]]
        for (id, bytes) in tokenBytes.enumerated() where !bytes.isEmpty && !endOfGeneration.contains(id) {
            var n = 0
            for b in bytes {
                if let next = kids[n].first(where: { $0.0 == b }) {
                    n = Int(next.1)
                } else {
                    let m = Int32(kids.count)
                    kids[n].append((b, m))
                    kids.append([])
                    ends.append([])
                    n = Int(m)
                }
            }
            ends[n].append(Int32(id))
        }
        var order = [Int32](repeating: -1, count: kids.count)
        var queue: [Int] = [0]
        order[0] = 0
        var head = 0
        while head < queue.count {
            let n = queue[head]
            head += 1
            for (_, m) in kids[n].sorted(by: { $0.0 < $1.0 }) {
                order[Int(m)] = Int32(queue.count)
                queue.append(Int(m))
            }
        }
        var cs: [Int32] = [0], cb: [UInt8] = [], cn: [Int32] = [], ts: [Int32] = [0], tk: [Int32] = []
        cb.reserveCapacity(kids.count)
        cn.reserveCapacity(kids.count)
        for n in queue {
            for (b, m) in kids[n].sorted(by: { $0.0 < $1.0 }) {
                cb.append(b)
                cn.append(order[Int(m)])
            }
            cs.append(Int32(cb.count))
            tk.append(contentsOf: ends[n])
            ts.append(Int32(tk.count))
        }
        childStart = cs
        childByte = cb
        childNode = cn
        tokenStart = ts
        tokens = tk
    }

    /// The vocabulary of `tokenizer`, built on first use and shared while the tokenizer lives.
    public static func shared(for tokenizer: Tokenizer) -> GrammarVocabulary {
        let key = ObjectIdentifier(tokenizer)
        if let hit = cache.withLock({ $0[key] }), hit.tokenizer === tokenizer { return hit.vocabulary }
        let n = tokenizer.vocabularySize
        let vocabulary = GrammarVocabulary(
            tokenBytes: (0..<n).map { tokenizer.tokenBytes($0) },
            endOfGeneration: Set(tokenizer.endOfGenerationTokenIDs.map(Int.init)))
        cache.withLock { entries in
            entries = entries.filter { $0.value.tokenizer != nil }
            entries[key] = CacheEntry(tokenizer: tokenizer, vocabulary: vocabulary)
        }
        return vocabulary
    }

    private struct CacheEntry: Sendable {
        weak var tokenizer: Tokenizer?
        let vocabulary: GrammarVocabulary
    }

    private static let cache = Mutex<[ObjectIdentifier: CacheEntry]>([:])
}
