/// A token id, as llama.cpp and the GGUF metadata number them.
public typealias TokenID = Int32

/// How a token is treated (`tokenizer.ggml.token_type`, numbered as in GGUF / SentencePiece).
public enum TokenType: Int32, Sendable, CaseIterable {
    case undefined = 0
    case normal = 1
    case unknown = 2
    /// Special tokens such as `<|im_start|>` or `<bos>`: recognised in text only when asked.
    case control = 3
    /// Added tokens that are always recognised in text, e.g. Gemma's runs of spaces and newlines.
    case userDefined = 4
    case unused = 5
    /// SentencePiece byte-fallback tokens `<0x00>` … `<0xFF>`.
    case byte = 6
}

/// The tokenization algorithm (`tokenizer.ggml.model`).
public enum TokenizerModelKind: String, Sendable, CaseIterable {
    /// Byte-level BPE with merges and a regex-style pre-tokenizer (GPT-2, Qwen2, Llama 3, SmolLM).
    case bytePairEncoding = "gpt2"
    /// SentencePiece BPE: score-ordered merges over characters, byte fallback (Llama 2, Gemma).
    case sentencePiece = "llama"
    /// WordPiece with BERT's normalizer and pre-tokenizer (all-MiniLM, BERT).
    case wordPiece = "bert"
}

/// Everything needed to build a `Tokenizer`, in plain Swift values. `Inference` fills it from GGUF
/// metadata (`Tokenizer.load(from:)`); tests build small ones by hand.
public struct TokenizerConfig: Sendable {
    public var model: TokenizerModelKind
    /// `tokenizer.ggml.pre` (byte-level BPE only); nil means llama.cpp's "default" pre-tokenizer.
    public var preTokenizer: String?
    /// Token texts, indexed by id. Byte-level BPE texts use the GPT-2 byte-to-unicode alphabet;
    /// SentencePiece texts use U+2581 for spaces.
    public var tokens: [String]
    /// One per token, or empty for "all normal".
    public var tokenTypes: [TokenType]
    /// One per token (SentencePiece merge priorities), or empty for all zero.
    public var scores: [Float]
    /// BPE merges in rank order, each "left right".
    public var merges: [String]
    public var bosTokenID: TokenID?
    public var eosTokenID: TokenID?
    public var eotTokenID: TokenID?
    public var eomTokenID: TokenID?
    public var unknownTokenID: TokenID?
    public var paddingTokenID: TokenID?
    /// nil = the model kind's default, as llama.cpp decides it (see `Tokenizer`).
    public var addBOS: Bool?
    public var addEOS: Bool?
    public var addSpacePrefix: Bool?
    /// WordPiece settings (used only by `.wordPiece`); BOS is [CLS] and EOS is [SEP] there.
    public var wordPiece: WordPieceOptions

    public init(
        model: TokenizerModelKind, preTokenizer: String? = nil, tokens: [String],
        tokenTypes: [TokenType] = [], scores: [Float] = [], merges: [String] = [],
        bosTokenID: TokenID? = nil, eosTokenID: TokenID? = nil, eotTokenID: TokenID? = nil,
        eomTokenID: TokenID? = nil, unknownTokenID: TokenID? = nil, paddingTokenID: TokenID? = nil,
        addBOS: Bool? = nil, addEOS: Bool? = nil, addSpacePrefix: Bool? = nil,
        wordPiece: WordPieceOptions = WordPieceOptions()
    ) {
        self.model = model
        self.preTokenizer = preTokenizer
        self.tokens = tokens
        self.tokenTypes = tokenTypes
        self.scores = scores
        self.merges = merges
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.eotTokenID = eotTokenID
        self.eomTokenID = eomTokenID
        self.unknownTokenID = unknownTokenID
        self.paddingTokenID = paddingTokenID
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
        self.wordPiece = wordPiece
    }
}
