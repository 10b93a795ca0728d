import Testing
import Tokenizers

@Suite struct PreTokenizerTests {
    func words(_ name: String, _ text: String) throws -> [String] {
        let pre = try PreTokenizer(name: name)
        let utf8 = Array(text.utf8)
        return pre.split(text).map { String(decoding: utf8[$0], as: UTF8.self) }
    }

    @Test func qwen2SplitsDigitsOneByOneAndLlama3ByThree() throws {
        #expect(try words("qwen2", "x 12345") == ["x", " ", "1", "2", "3", "4", "5"])
        #expect(try words("llama-bpe", "x 12345") == ["x", " ", "123", "45"])
        // smollm (starcoder): every digit alone first, then GPT-2's regex.
        #expect(try words("smollm", "a 42b") == ["a", " ", "4", "2", "b"])
        #expect(try words("gpt-2", "a 42b") == ["a", " 42", "b"])
    }

    @Test func whitespaceBeforeAWordLeavesOneSpaceToIt() throws {
        // \s+(?!\S): the run stops one short so the last space joins the next word.
        #expect(try words("gpt-2", "a   b") == ["a", "  ", " b"])
        #expect(try words("qwen2", "a   b") == ["a", "  ", " b"])
        // At the end of the text the whole run is one piece.
        #expect(try words("qwen2", "a   ") == ["a", "   "])
        // A single tab before a word stays alone (GPT-2 has no \s+ fallback but keeps the gap).
        #expect(try words("gpt-2", "a\tb") == ["a", "\t", "b"])
        #expect(try words("qwen2", "a\tb") == ["a", "\tb"])
    }

    @Test func newlinesGroupWithPrecedingWhitespace() throws {
        // \s*[\r\n]+ runs to the last newline of a whitespace run.
        #expect(try words("qwen2", "a \n\n  b") == ["a", " \n\n", " ", " b"])
        #expect(try words("qwen2", "x;\r\n") == ["x", ";\r\n"])
    }

    @Test func contractions() throws {
        #expect(try words("qwen2", "DON'T I'm") == ["DON", "'T", " I", "'m"])
        // GPT-2's contractions are lower case only.
        #expect(try words("gpt-2", "DON'T I'm") == ["DON", "'", "T", " I", "'m"])
    }

    @Test func unicodeCategories() throws {
        #expect(try words("qwen2", "naïve café") == ["naïve", " café"])
        #expect(try words("qwen2", "x²") == ["x", "²"])  // ² is \\p{N}
        #expect(try words("qwen2", "你好，世界") == ["你好", "，世界"])  // [^\r\n\p{L}\p{N}]?\p{L}+
        #expect(try words("qwen2", "a\u{00A0}b") == ["a", "\u{00A0}b"])  // NBSP is \\s but not a letter
    }

    @Test func defaultPreTokenizer() throws {
        // [\\p{P}$+<=>^~|]+ first, then GPT-2, then \\p{N}+, then ASCII digit triples.
        #expect(try words("default", "a+=b 12345!") == ["a", "+=", "b", " ", "123", "45", "!"])
    }
}
