import Testing
import Tokenizers

@Suite struct SpecialTokenTests {
    // Byte-level vocabulary: ids 0…255 bytes; 256 "<c>" control, 257 "<u>" user-defined,
    // 258 "ab" user-defined, 259 "bcd" user-defined, 260 "<|im_end|>" normal (!)
    func tokenizer() throws -> Tokenizer {
        try Tiny.bpe(extra: ["<c>", "<u>", "ab", "bcd", "<|im_end|>"],
                     types: [256: .control, 257: .userDefined, 258: .userDefined, 259: .userDefined], merges: [])
    }

    @Test func controlTokensOnlyWithParseSpecial() throws {
        let tok = try tokenizer()
        #expect(tok.encode("x<c>y") == [120, 60, 99, 62, 121])
        #expect(tok.encode("x<c>y", parseSpecial: true) == [120, 256, 121])
    }

    @Test func userDefinedTokensAlways() throws {
        let tok = try tokenizer()
        #expect(tok.encode("x<u>y") == [120, 257, 121])
        #expect(tok.encode("x<u>y", parseSpecial: true) == [120, 257, 121])
        #expect(tok.decode([120, 257, 121]) == "x<u>y")
    }

    @Test func longerTokensTakePriorityOverEarlierOnes() throws {
        // llama.cpp splits on the longest special token first: "bcd" wins over the earlier "ab".
        let tok = try tokenizer()
        #expect(tok.encode("abcd") == [97, 259])
        #expect(tok.encode("abab") == [258, 258])
    }

    @Test func endOfGenerationTokensAreFoundByTextAndBecomeControl() throws {
        let tok = try tokenizer()
        #expect(tok.isEndOfGeneration(260))
        #expect(tok.eotTokenID == 260)
        #expect(tok.isControl(260))
        // Being control now, it is not matched in plain text, and renders only on request.
        #expect(tok.encode("<|im_end|>").count == 10)
        #expect(tok.encode("<|im_end|>", parseSpecial: true) == [260])
        #expect(tok.decode([260]).isEmpty)
        #expect(tok.decode([260], renderSpecial: true) == "<|im_end|>")
    }
}
