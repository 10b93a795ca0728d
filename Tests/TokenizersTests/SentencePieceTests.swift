import Testing
import Tokenizers

@Suite struct SentencePieceTests {
    // Ids: <unk>=0 <s>=1 </s>=2, <0xNN> = 3 + NN, then the pieces from 259.

    @Test func higherScoresMergeFirst() throws {
        let tok = try Tiny.spm(pieces: [("a", 0), ("b", 0), ("c", 0), ("ab", -2), ("bc", -1)], addSpacePrefix: false)
        #expect(tok.encode("abc", addSpecialTokens: false) == [259, 263])  // a + bc
        let tok2 = try Tiny.spm(pieces: [("a", 0), ("b", 0), ("c", 0), ("ab", -1), ("bc", -2)], addSpacePrefix: false)
        #expect(tok2.encode("abc", addSpecialTokens: false) == [262, 261])  // ab + c
    }

    @Test func spacesBecomeLowerOneEighthBlockAndThePrefixIsRemovedOnDecode() throws {
        let tok = try Tiny.spm(pieces: [("▁", -5), ("a", 0), ("▁a", -1)], addSpacePrefix: true)
        let ids = tok.encode("a a")
        #expect(ids == [1, 261, 261])  // <s> ▁a ▁a
        #expect(tok.decode(ids) == "a a")
        let noPrefix = try Tiny.spm(pieces: [("▁", -5), ("a", 0), ("▁a", -1)], addSpacePrefix: false)
        #expect(noPrefix.encode("a a") == [1, 260, 261])
        #expect(noPrefix.decode(noPrefix.encode(" a")) == " a")
    }

    @Test func unknownCharactersFallBackToByteTokens() throws {
        let tok = try Tiny.spm(pieces: [("a", 0)], addSpacePrefix: false)
        // € is E2 82 AC
        let expected: [TokenID] = [259, 3 + 0xE2, 3 + 0x82, 3 + 0xAC]
        #expect(tok.encode("a€", addSpecialTokens: false) == expected)
        #expect(tok.decode(tok.encode("a€")) == "a€")
        #expect(tok.displayText(3 + 0xE2) == "<0xE2>")
    }

    @Test func spacePrefixFollowsSpecialTokens() throws {
        let tok = try Tiny.spm(pieces: [("▁", -5), ("a", 0), ("▁a", -1)], control: ["<t>"], addSpacePrefix: true)
        let t: TokenID = 262
        #expect(tok.encode("a<t>a", parseSpecial: true) == [1, 261, t, 261])
        #expect(tok.decode(tok.encode("a<t>a", parseSpecial: true), renderSpecial: true) == "a<t>a")
    }
}
