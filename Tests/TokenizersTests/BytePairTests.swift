import Testing
import Tokenizers

@Suite struct BytePairTests {
    // ids: a=97 b=98 c=99; extra tokens start at 256.
    @Test func mergesFollowRankNotPosition() throws {
        // "b c" ranks before "a b", so "abc" becomes a + bc although "ab" comes first in the text.
        let tok = try Tiny.bpe(extra: ["ab", "bc", "abc"], merges: ["b c", "a b", "a bc"])
        #expect(tok.encode("abc") == [258])  // b c → bc, then a bc → abc
        let tok2 = try Tiny.bpe(extra: ["ab", "bc"], merges: ["b c", "a b"])
        #expect(tok2.encode("abc") == [97, 257])
        let tok3 = try Tiny.bpe(extra: ["ab", "bc"], merges: ["a b", "b c"])
        #expect(tok3.encode("abc") == [256, 99])
    }

    @Test func equalRanksMergeLeftmostFirst() throws {
        let tok = try Tiny.bpe(extra: ["aa"], merges: ["a a"])
        #expect(tok.encode("aaa") == [256, 97])
        #expect(tok.encode("aaaa") == [256, 256])
    }

    @Test func spaceIsPartOfTheNextWord() throws {
        let g = Tiny.byteChar(0x20)  // "Ġ"
        let tok = try Tiny.bpe(extra: [g + "a", g + "ab"], merges: ["\(g) a", "\(g)a b"])
        #expect(tok.encode("ab ab") == [97, 98, 257])
        #expect(tok.decode(tok.encode("ab ab")) == "ab ab")
    }

    @Test func mergeResultOutsideTheVocabularyFallsBackToBytes() throws {
        // "x y" merges to "xy", which is not a token; llama.cpp then spells it byte by byte, and
        // only bytes whose single-byte text is a token survive (here both are plain ASCII).
        let tok = try Tiny.bpe(merges: ["x y"])
        #expect(tok.encode("xy") == [120, 121])
    }

    @Test func llama3KeepsWholeTokenWordsWithoutMerging() throws {
        // With llama-bpe (ignore_merges) the word "abc" is a token and is taken whole, even though
        // the merges would stop at "ab" + "c".
        let merges = ["a b"]
        let llama = try Tiny.bpe(extra: ["ab", "abc"], merges: merges, pre: "llama-bpe", bos: 256, addBOS: false)
        #expect(llama.encode("abc") == [257])
        let gpt2 = try Tiny.bpe(extra: ["ab", "abc"], merges: merges)
        #expect(gpt2.encode("abc") == [256, 99])
    }

    @Test func multiByteCharactersAndRoundTrip() throws {
        let tok = try Tiny.bpe(merges: [])
        let s = "héllo 🙂 世界\n\t"
        let ids = tok.encode(s)
        #expect(ids == Array(s.utf8).map { TokenID($0) })
        #expect(tok.decode(ids) == s)
    }

    @Test func addsBOSAndEOSOnlyWhenAskedAndAllowed() throws {
        let tok = try Tiny.bpe(extra: ["<s>"], types: [256: .control], merges: [], bos: 256, addBOS: true)
        #expect(tok.encode("a") == [256, 97])
        #expect(tok.encode("a", addSpecialTokens: false) == [97])
        #expect(tok.encode("") == [256])
        #expect(tok.decode([256, 97]) == "a")
        #expect(tok.decode([256, 97], renderSpecial: true) == "a")  // the BOS it added is not rendered
    }

    @Test func badConfigurationsThrow() {
        #expect(throws: TokenizerError.unsupportedPreTokenizer("no-such-regex")) {
            try Tiny.bpe(merges: [], pre: "no-such-regex")
        }
        #expect(throws: TokenizerError.emptyVocabulary) {
            try Tokenizer(config: TokenizerConfig(model: .bytePairEncoding, tokens: []))
        }
        #expect(throws: TokenizerError.countMismatch(what: "token types", count: 1, tokens: 2)) {
            try Tokenizer(config: TokenizerConfig(model: .bytePairEncoding, tokens: ["a", "b"], tokenTypes: [.normal]))
        }
        #expect(throws: TokenizerError.tokenIDOutOfRange(role: "BOS", id: 9999, vocabularySize: 256)) {
            try Tiny.bpe(merges: [], bos: 9999)
        }
        #expect(throws: TokenizerError.missingSpecialToken(role: "BOS")) {
            try Tiny.bpe(merges: [], addBOS: true)
        }
        #expect(TokenizerError.unsupportedModel("wpm").description.contains("\"wpm\""))
    }
}
