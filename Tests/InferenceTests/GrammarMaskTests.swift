import Testing

@testable import Inference

@Suite("Grammar token masks")
struct GrammarMaskTests {
    /// A small vocabulary with shared prefixes, multi-byte characters split across tokens,
    /// an empty (control) token and two end-of-generation ids.
    static let pieces: [[UInt8]] = {
        var p: [[UInt8]] = [
            "{", "}", "{\"", "\"", "\":", ",", ", ", " ", "\n", "  ", "a", "ab", "abc", "b", "1", "12", "-",
            "true", "tr", "ue", "null", "\"}", "[", "]", "[1", "é", "日", "x\"", "\\", "\\n", "{}",
        ].map { Array($0.utf8) }
        p.append(Array("é".utf8).prefix(1).map { $0 })  // first byte of é
        p.append(Array("é".utf8).suffix(1).map { $0 })  // second byte of é
        p.append(Array("日".utf8).prefix(2).map { $0 })
        p.append([0xFF])  // never valid UTF-8
        p.append([])  // a control token
        p.append([])  // end of generation
        p.append([])  // end of turn
        return p
    }()
    static let eog: Set<Int> = [pieces.count - 2, pieces.count - 1]
    static let vocabulary = GrammarVocabulary(tokenBytes: pieces, endOfGeneration: eog)

    /// The mask by trying every token on a copy of the matcher.
    static func bruteForce(_ m: GrammarMatcher) -> [Int] {
        var allowed: [Int] = []
        for (id, bytes) in pieces.enumerated() {
            var copy = m
            if eog.contains(id) {
                if m.canEnd { allowed.append(id) }
            } else if !bytes.isEmpty && copy.accept(bytes) {
                allowed.append(id)
            }
        }
        return allowed
    }

    static let grammars = [
        JSONSchemaGrammar.anyObjectRules(rootName: "root"),
        "root ::= \"[\" ( [0-9]+ ( \",\" [0-9]+ )* )? \"]\"",
        "root ::= \"\\\"\" ( [^\"\\\\] | \"\\\\\" [n\"] )* \"\\\"\" | \"é\"+ | \"日\" \"x\"",
        "root ::= ( \"true\" | \"null\" | \"ab\" ) \" \"?",
    ]

    @Test(arguments: grammars)
    func maskEqualsBruteForceAlongRandomWalks(grammar: String) throws {
        let g = try Grammar.parse(grammar)
        var rng = SeededRandom(seed: 7)
        for _ in 0..<30 {
            var m = GrammarMatcher(grammar: g)
            for _ in 0..<25 {
                let mask = m.allowedTokens(in: Self.vocabulary)
                let expected = Self.bruteForce(m)
                #expect(mask.ids == expected)
                for id in 0..<Self.pieces.count {
                    var copy = m
                    let allowed = copy.allows(token: id, in: Self.vocabulary)
                    #expect(allowed == expected.contains(id))
                }
                let textual = expected.filter { !Self.eog.contains($0) }
                guard !textual.isEmpty else { break }
                let pick = textual[Int(rng.next() % UInt64(textual.count))]
                do { let r = m.accept(Self.pieces[pick]); #expect((r)) }
            }
        }
    }

    @Test func endOfGenerationOnlyWhereTheGrammarMayEnd() throws {
        var c = GrammarConstraint(grammar: try Grammar.parse("root ::= \"ab\""), vocabulary: Self.vocabulary)
        let eos = Self.pieces.count - 2
        do { let r = c.allows(eos); #expect(!(r)) }
        do { let r = c.allowedTokens().contains(eos); #expect(!(r)) }
        c.accept(11)  // "ab"
        #expect(c.isComplete)
        do { let r = c.allows(eos); #expect((r)) }
        let ids = c.allowedTokens().ids
        #expect(ids == Array(Self.eog).sorted())
    }
}
