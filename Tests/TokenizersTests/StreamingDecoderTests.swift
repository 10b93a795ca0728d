import Testing
import Tokenizers

@Suite struct StreamingDecoderTests {
    @Test func multiByteCharacterSplitAcrossTokensIsHeldBack() throws {
        let tok = try Tiny.bpe(merges: [])
        var d = tok.streamingDecoder()
        // 🙂 is F0 9F 99 82; with the byte vocabulary each byte is one token.
        #expect(d.append(0x61) == "a")
        #expect(d.append(0xF0) == "")
        #expect(d.append(0x9F) == "")
        #expect(d.append(0x99) == "")
        #expect(d.pendingByteCount == 3)
        #expect(d.append(0x82) == "🙂")
        #expect(d.append(0xE4) == "")
        #expect(d.append(0xB8) == "")
        #expect(d.append(0x96) == "世")
        #expect(d.flush() == "")
    }

    @Test func unfinishedCharacterAtTheEndBecomesReplacement() throws {
        let tok = try Tiny.bpe(merges: [])
        var d = tok.streamingDecoder()
        #expect(d.append(0xE4) == "")
        #expect(d.flush() == "\u{FFFD}")
        // A byte that can never start a character is not held back.
        #expect(d.append(0xFF) == "\u{FFFD}")
    }

    @Test func byteFallbackTokensStream() throws {
        let tok = try Tiny.spm(pieces: [("a", 0)], addSpacePrefix: false)
        let ids = tok.encode("é", addSpecialTokens: false)  // C3 A9 as two byte tokens
        #expect(ids == [3 + 0xC3, 3 + 0xA9])
        var d = tok.streamingDecoder()
        #expect(d.append(ids[0]) == "")
        #expect(d.append(ids[1]) == "é")
    }

    @Test func controlTokensRenderOnlyWhenAsked() throws {
        let tok = try Tiny.bpe(extra: ["<c>"], types: [256: .control], merges: [])
        var quiet = tok.streamingDecoder()
        #expect(quiet.append(256) == "")
        var loud = tok.streamingDecoder(renderSpecial: true)
        #expect(loud.append(256) == "<c>")
    }
}
