// Reads a Hugging Face tokenizer.json (WordPiece models, e.g. all-MiniLM-L6-v2).

import Foundation

extension TokenizerConfig {
    /// The tokenizer described by a Hugging Face tokenizer.json. Only WordPiece models are read.
    public init(tokenizerJSON data: Data) throws(TokenizerError) {
        let root: [String: Any]
        do {
            guard let r = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw TokenizerError.invalidTokenizerJSON("the top level is not an object")
            }
            root = r
        } catch let e as TokenizerError {
            throw e
        } catch {
            throw .invalidTokenizerJSON("it is not valid JSON (\(error.localizedDescription))")
        }
        guard let model = root["model"] as? [String: Any], let type = model["type"] as? String else {
            throw .invalidTokenizerJSON("it has no \"model\" with a \"type\"")
        }
        guard type == "WordPiece" else { throw .unsupportedModel(type) }
        guard let vocab = model["vocab"] as? [String: Any] else { throw .invalidTokenizerJSON("the model has no \"vocab\" object") }
        var byID: [Int: String] = [:]
        for (text, v) in vocab {
            guard let id = (v as? NSNumber)?.intValue, id >= 0 else {
                throw .invalidTokenizerJSON("the vocab entry \"\(text)\" has no integer id")
            }
            byID[id] = text
        }
        var types: [Int: TokenType] = [:]
        for case let t as [String: Any] in root["added_tokens"] as? [Any] ?? [] {
            guard let id = (t["id"] as? NSNumber)?.intValue, let content = t["content"] as? String else { continue }
            byID[id] = content
            types[id] = (t["special"] as? Bool ?? false) ? .control : .userDefined
        }
        let count = (byID.keys.max() ?? -1) + 1
        guard count > 0 else { throw .emptyVocabulary }
        var tokens: [String] = []
        tokens.reserveCapacity(count)
        for id in 0..<count {
            guard let text = byID[id] else { throw .invalidTokenizerJSON("token id \(id) is missing from the vocab") }
            tokens.append(text)
        }
        let index = Dictionary(tokens.enumerated().map { ($1, TokenID($0)) }, uniquingKeysWith: { a, _ in a })

        var options = WordPieceOptions()
        if let prefix = model["continuing_subword_prefix"] as? String { options.continuingSubwordPrefix = prefix }
        if let max = (model["max_input_chars_per_word"] as? NSNumber)?.intValue { options.maxInputCharsPerWord = max }
        if let n = root["normalizer"] as? [String: Any], n["type"] as? String == "BertNormalizer" {
            options.lowercase = n["lowercase"] as? Bool ?? true
            options.stripAccents = n["strip_accents"] as? Bool
            options.cleanText = n["clean_text"] as? Bool ?? true
            options.handleChineseChars = n["handle_chinese_chars"] as? Bool ?? true
        } else {
            options.lowercase = false
            options.stripAccents = false
            options.cleanText = false
            options.handleChineseChars = false
        }
        // [CLS] and [SEP] from the post-processor, else by their usual texts.
        var cls = index["[CLS]"], sep = index["[SEP]"]
        if let post = root["post_processor"] as? [String: Any] {
            if let c = post["cls"] as? [Any], let id = (c.last as? NSNumber)?.intValue { cls = TokenID(id) }
            if let s = post["sep"] as? [Any], let id = (s.last as? NSNumber)?.intValue { sep = TokenID(id) }
        }
        let unk = (model["unk_token"] as? String).flatMap { index[$0] } ?? index["[UNK]"]
        self.init(
            model: .wordPiece, tokens: tokens,
            tokenTypes: (0..<count).map { types[$0] ?? .normal },
            bosTokenID: cls, eosTokenID: sep, unknownTokenID: unk, paddingTokenID: index["[PAD]"],
            addBOS: cls != nil, addEOS: sep != nil, wordPiece: options)
    }
}
