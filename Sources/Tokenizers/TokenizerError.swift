/// Every way a tokenizer description can be unusable, each with one sentence in the user's terms.
public enum TokenizerError: Error, Equatable, CustomStringConvertible, Sendable {
    case unsupportedModel(String)
    case unsupportedPreTokenizer(String)
    case emptyVocabulary
    case countMismatch(what: String, count: Int, tokens: Int)
    case tokenIDOutOfRange(role: String, id: Int, vocabularySize: Int)
    case missingSpecialToken(role: String)
    case missingByteToken(UInt8)
    case invalidTokenType(id: Int, type: Int)
    case invalidTokenizerJSON(String)

    public var description: String {
        switch self {
        case let .unsupportedModel(name):
            "Tokenizer model \"\(name)\" is not supported (supported: \"gpt2\" byte-level BPE and \"llama\" SentencePiece BPE in GGUF, WordPiece in tokenizer.json)."
        case let .unsupportedPreTokenizer(name):
            "Pre-tokenizer \"\(name)\" is not supported (supported: qwen2, llama-bpe/llama3, smollm/starcoder, gpt-2 and default)."
        case .emptyVocabulary: "The tokenizer has no tokens."
        case let .countMismatch(what, count, tokens):
            "The tokenizer has \(tokens) tokens but \(count) \(what); the counts must match."
        case let .tokenIDOutOfRange(role, id, size):
            "The \(role) token id \(id) is outside the vocabulary of \(size) tokens."
        case let .missingSpecialToken(role):
            "The tokenizer needs its \(role) token but does not say which token that is."
        case let .missingByteToken(byte):
            "The byte-level vocabulary has no token for byte 0x\(String(byte, radix: 16, uppercase: true))."
        case let .invalidTokenType(id, type):
            "Token \(id) has type \(type), which is not a known token type (0 to 6)."
        case let .invalidTokenizerJSON(detail):
            "The tokenizer.json file is not usable: \(detail)."
        }
    }
}
