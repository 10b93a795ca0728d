// Builds a Tokenizer from a GGUF file's `tokenizer.ggml.*` metadata, the way llama.cpp reads it.

import ModelFormats
import Tokenizers

extension TokenizerConfig {
    /// The tokenizer description stored in a GGUF file.
    public init(gguf: GGUFFile) throws {
        let modelName = try gguf.string("tokenizer.ggml.model")
        // GGUF BERT vocabularies are rewritten for llama.cpp's own WPM scheme; only BPE and SPM here.
        guard let model = TokenizerModelKind(rawValue: modelName), model != .wordPiece else {
            throw TokenizerError.unsupportedModel(modelName)
        }
        let tokens = try gguf.stringArray("tokenizer.ggml.tokens")
        var types: [TokenType] = []
        if gguf["tokenizer.ggml.token_type"] != nil {
            let raw = try gguf.intArray("tokenizer.ggml.token_type")
            types.reserveCapacity(raw.count)
            for (i, t) in raw.enumerated() {
                guard let type = TokenType(rawValue: Int32(clamping: t)) else {
                    throw TokenizerError.invalidTokenType(id: i, type: t)
                }
                types.append(type)
            }
        }
        var scores: [Float] = []
        if gguf["tokenizer.ggml.scores"] != nil {
            scores = try gguf.doubleArray("tokenizer.ggml.scores").map { Float($0) }
        }
        let merges = gguf["tokenizer.ggml.merges"] != nil ? try gguf.stringArray("tokenizer.ggml.merges") : []
        func id(_ key: String) throws -> TokenID? {
            guard gguf[key] != nil else { return nil }
            let v = try gguf.int(key)
            guard v >= 0 && v < tokens.count else {
                throw TokenizerError.tokenIDOutOfRange(role: key, id: v, vocabularySize: tokens.count)
            }
            return TokenID(v)
        }
        func flag(_ key: String) throws -> Bool? {
            guard let v = gguf[key] else { return nil }
            guard let b = v.boolValue else { throw ModelFileError.wrongMetadataType(key: key, expected: "a boolean") }
            return b
        }
        self.init(
            model: model,
            preTokenizer: gguf["tokenizer.ggml.pre"]?.stringValue,
            tokens: tokens, tokenTypes: types, scores: scores, merges: merges,
            bosTokenID: try id("tokenizer.ggml.bos_token_id"),
            eosTokenID: try id("tokenizer.ggml.eos_token_id"),
            eotTokenID: try id("tokenizer.ggml.eot_token_id"),
            eomTokenID: try id("tokenizer.ggml.eom_token_id"),
            unknownTokenID: try id("tokenizer.ggml.unknown_token_id"),
            paddingTokenID: try id("tokenizer.ggml.padding_token_id"),
            addBOS: try flag("tokenizer.ggml.add_bos_token"),
            addEOS: try flag("tokenizer.ggml.add_eos_token"),
            addSpacePrefix: try flag("tokenizer.ggml.add_space_prefix"))
    }
}

extension Tokenizer {
    /// The tokenizer of a GGUF model.
    public static func load(from gguf: GGUFFile) throws -> Tokenizer {
        try Tokenizer(config: TokenizerConfig(gguf: gguf))
    }
}
