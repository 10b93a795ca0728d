import Foundation
import Testing
import Tokenizers

@Suite struct WordPieceTests {
    static let json = """
    {
      "added_tokens": [
        {"id": 0, "content": "[PAD]", "special": true}, {"id": 1, "content": "[UNK]", "special": true},
        {"id": 2, "content": "[CLS]", "special": true}, {"id": 3, "content": "[SEP]", "special": true}
      ],
      "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                     "strip_accents": null, "lowercase": true},
      "pre_tokenizer": {"type": "BertPreTokenizer"},
      "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
      "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                "max_input_chars_per_word": 100,
                "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "world": 5, "##s": 6,
                          ",": 7, "un": 8, "##aff": 9, "##able": 10, "!": 11, "中": 12, "cafe": 13}}
    }
    """

    func tokenizer() throws -> Tokenizer {
        try Tokenizer(config: TokenizerConfig(tokenizerJSON: Data(Self.json.utf8)))
    }

    @Test func greedyLongestPiecesWithClsAndSep() throws {
        let tok = try tokenizer()
        #expect(tok.encode("Hello, worlds! Unaffable 中x") == [2, 4, 7, 5, 6, 11, 8, 9, 10, 12, 1, 3])
        #expect(tok.encode("hello", addSpecialTokens: false) == [4])
    }

    @Test func normalizerLowercasesStripsAccentsAndCleans() throws {
        let tok = try tokenizer()
        #expect(tok.encode("CAFÉ\u{0}\u{200B}", addSpecialTokens: false) == [13])
        #expect(tok.encode("unknownword", addSpecialTokens: false) == [1])
    }

    @Test func decodeJoinsContinuationPieces() throws {
        let tok = try tokenizer()
        #expect(tok.decode(tok.encode("hello worlds unaffable")) == "hello worlds unaffable")
    }

    @Test func otherModelsInTokenizerJSONAreRejected() {
        #expect(throws: TokenizerError.unsupportedModel("Unigram")) {
            try TokenizerConfig(tokenizerJSON: Data(#"{"model": {"type": "Unigram"}}"#.utf8))
        }
        #expect(throws: TokenizerError.self) { try TokenizerConfig(tokenizerJSON: Data("not json".utf8)) }
    }
}
