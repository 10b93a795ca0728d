import Testing

@testable import Inference

@Suite("Grammar matcher")
struct GrammarMatcherTests {
    static func matcher(_ text: String) throws -> GrammarMatcher {
        GrammarMatcher(grammar: try Grammar.parse(text))
    }

    /// Whether the whole string is a sentence of the grammar.
    static func matches(_ m: GrammarMatcher, _ s: String) -> Bool {
        var m = m
        return m.accept(s) && m.canEnd
    }

    @Test func acceptsAndRejectsStrings() throws {
        let m = try Self.matcher(
            """
            root ::= "[" ws ( num ( ws "," ws num )* )? ws "]"
            num  ::= "-"? [0-9]+
            ws   ::= " "?
            """)
        for good in ["[]", "[ ]", "[1]", "[1,2]", "[ -12 , 3 ]", "[0,-0,99]"] {
            #expect(Self.matches(m, good), "\(good)")
        }
        for bad in ["[", "[1,]", "[,1]", "1", "[1 2]", "[  1]", "[a]", "[1]]"] {
            #expect(!Self.matches(m, bad), "\(bad)")
        }
    }

    @Test func repetitionCounts() throws {
        let m = try Self.matcher("root ::= \"a\"{2,4} \"b\"{3} \"c\"{1,}")
        #expect(Self.matches(m, "aabbbc"))
        #expect(Self.matches(m, "aaaabbbccc"))
        #expect(!Self.matches(m, "abbbc"))
        #expect(!Self.matches(m, "aaaaabbbc"))
        #expect(!Self.matches(m, "aabbc"))
        #expect(!Self.matches(m, "aabbb"))
    }

    @Test func classesNegationAndAnyCharacter() throws {
        let m = try Self.matcher("root ::= [^\"a-c]+ . [\\u00e0-\\u00ff]")
        #expect(Self.matches(m, "xyz\"é"))
        #expect(Self.matches(m, "日本語!ÿ"))
        #expect(!Self.matches(m, "abc!é"))
        #expect(!Self.matches(m, "xy!z"))
    }

    @Test func utf8SplitAcrossFeedsKeepsThePartialCharacter() throws {
        var m = try Self.matcher("root ::= \"é\" \"!\"")
        let bytes = Array("é!".utf8)
        do { let r = m.accept([bytes[0]]); #expect((r)) }
        #expect(!m.canEnd)
        // A lead byte of a character that the grammar cannot produce is refused at once.
        var other = try Self.matcher("root ::= \"é\"")
        let refused = !other.accept(Array("日".utf8).prefix(1))
        #expect(refused)
        do { let r = m.accept([bytes[1]]); #expect((r)) }
        do { let r = m.accept([bytes[2]]); #expect((r)) }
        #expect(m.isComplete)
        do { let r = m.accept([0x21]); #expect(!(r)) }
    }

    /// Byte tokens must not spell a literal with an overlong form or a surrogate: the text would
    /// read U+FFFD where the grammar believes it wrote the literal.
    @Test func onlyWellFormedUTF8IsAccepted() throws {
        let lines = try Self.matcher(#"root ::= "lines""#)
        for overlong: [UInt8] in [[0xC1, 0xB3], [0xE0, 0x81, 0xB3], [0xF0, 0x80, 0x81, 0xB3]] {
            var m = lines
            let prefix = m.accept("line")
            let accepted = m.accept(overlong)
            #expect(prefix && !accepted, "\(overlong) is an overlong 's'")
        }
        // A lead byte alone is refused when no character of its length can follow ('s' after
        // "line" is one byte long, so F0 cannot start it).
        for lead: UInt8 in [0xC3, 0xE0, 0xF0] {
            var m = lines
            let prefix = m.accept("line")
            let accepted = m.accept([lead])
            #expect(prefix && !accepted, "lead byte \(lead) after \"line\"")
        }
        let any = try Self.matcher("root ::= [^\"]*")
        for bad: [UInt8] in [[0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xE0, 0x9F, 0xBF], [0xF0, 0x8F, 0xBF, 0xBF]] {
            var m = any
            let accepted = m.accept(bad)
            #expect(!accepted, "\(bad) is not well-formed UTF-8")
        }
        for text in ["\u{7FF}", "\u{800}", "\u{D7FF}", "\u{E000}", "\u{FFFF}", "\u{10000}", "\u{10FFFF}", "é日😀"] {
            var m = any
            let accepted = m.accept(text)
            #expect(accepted && m.canEnd, "\(text.unicodeScalars.map { $0.value })")
        }
    }

    @Test func rejectedInputLeavesTheStateUnchanged() throws {
        var m = try Self.matcher("root ::= \"ab\" | \"ac\"")
        do { let r = m.accept("a"); #expect((r)) }
        do { let r = m.accept("x"); #expect(!(r)) }
        do { let r = m.accept("c"); #expect((r)) }
        #expect(m.isComplete)
    }

    @Test func completeVersusMayContinue() throws {
        var m = try Self.matcher("root ::= [0-9]+")
        #expect(!m.canEnd)
        do { let r = m.accept("12"); #expect((r)) }
        #expect(m.canEnd && !m.isComplete)
        var n = try Self.matcher("root ::= \"{\" \"}\"")
        do { let r = n.accept("{}"); #expect((r)) }
        #expect(n.isComplete)
    }

    @Test func tailRecursionDoesNotGrowTheStacks() throws {
        var m = try Self.matcher("root ::= \"\\\"\" [a-z]* \"\\\"\"")
        do { let r = m.accept("\""); #expect((r)) }
        let long = m.accept(String(repeating: "q", count: 5000))
        #expect(long)
        // Interned stacks: the long run reuses the same nodes.
        #expect(m.arena.count < 20)
        do { let r = m.accept("\""); #expect((r)) }
        #expect(m.isComplete)
    }

    @Test func copiesAreIndependent() throws {
        var a = try Self.matcher("root ::= \"x\" ( \"y\" | \"z\" )")
        do { let r = a.accept("x"); #expect((r)) }
        var b = a
        do { let r = b.accept("y"); #expect((r)) }
        do { let r = a.accept("z"); #expect((r)) }
        #expect(a.isComplete && b.isComplete)
    }
}

@Suite("Grammar matcher arena compaction")
struct GrammarCompactionTests {
    @Test func compactedMatcherBehavesLikeTheOriginal() throws {
        let g = try Grammar.parse(
            """
            root ::= "[" ( item ( "," item )* )? "]"
            item ::= [a-c]{1,6} | "(" ( item ( "," item )* )? ")"
            """)
        let alphabet = Array("[](),abcx".utf8)
        var rng = SeededRandom(seed: 9)
        for _ in 0..<20 {
            var plain = GrammarMatcher(grammar: g)
            var compacting = GrammarMatcher(grammar: g)
            compacting.compactionThreshold = 8
            for _ in 0..<200 {
                let b = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                let a1 = plain.accept([b]), a2 = compacting.accept([b])
                #expect(a1 == a2)
                #expect(plain.canEnd == compacting.canEnd && plain.isComplete == compacting.isComplete)
                if plain.isComplete { break }
            }
        }
    }
}
