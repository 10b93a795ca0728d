// Text ↔ token ids for the models Studio runs, matching llama.cpp's tokenizer token for token:
// special-token partitioning, then byte-level BPE (with a pre-tokenizer) or SentencePiece BPE,
// then BOS/EOS as the model asks. Immutable after init, so one instance serves every thread.

public final class Tokenizer: Sendable {
    public let model: TokenizerModelKind
    /// The byte-level BPE pre-tokenizer (nil for SentencePiece).
    public let preTokenizer: PreTokenizer?
    public let bosTokenID: TokenID?
    public let eosTokenID: TokenID?
    /// End of turn, from the metadata or found by its text (`<|im_end|>`, `<end_of_turn>`, …).
    public let eotTokenID: TokenID?
    public let eomTokenID: TokenID?
    public let unknownTokenID: TokenID?
    public let paddingTokenID: TokenID?
    /// Whether `encode(_:addSpecialTokens: true)` starts with BOS / ends with EOS.
    public let addBOS: Bool
    public let addEOS: Bool
    /// SentencePiece: a space is put before the text (and after each special token), as llama.cpp.
    public let addSpacePrefix: Bool
    /// Every token that ends a generation, decided as llama.cpp decides `is_eog`.
    public let endOfGenerationTokenIDs: Set<TokenID>

    let vocab: Vocabulary
    let bpe: BytePairModel?
    let spm: SentencePieceModel?
    let wordPiece: WordPieceModel?
    /// User-defined tokens only (always recognised) / all special tokens (with `parseSpecial`).
    let plainPartitioner: SpecialTokenPartitioner
    let specialPartitioner: SpecialTokenPartitioner
    /// What each token decodes to (llama.cpp's token_to_piece with special = true), back to back.
    let piecePool: [UInt8]
    let pieceStarts: [Int32]

    public var vocabularySize: Int { vocab.count }

    public init(config c: TokenizerConfig) throws(TokenizerError) {
        let n = c.tokens.count
        guard n > 0 else { throw .emptyVocabulary }
        if !c.tokenTypes.isEmpty && c.tokenTypes.count != n {
            throw .countMismatch(what: "token types", count: c.tokenTypes.count, tokens: n)
        }
        if !c.scores.isEmpty && c.scores.count != n {
            throw .countMismatch(what: "scores", count: c.scores.count, tokens: n)
        }
        model = c.model
        var vocab = Vocabulary(tokens: c.tokens, types: c.tokenTypes, scores: c.scores)

        func checked(_ id: TokenID?, _ role: String) throws(TokenizerError) -> TokenID? {
            guard let id else { return nil }
            guard id >= 0 && Int(id) < n else { throw .tokenIDOutOfRange(role: role, id: Int(id), vocabularySize: n) }
            return id
        }
        // llama.cpp's defaults per model kind, then the metadata.
        var bos = try checked(c.bosTokenID, "BOS")
        var eos = try checked(c.eosTokenID, "EOS")
        var unk = try checked(c.unknownTokenID, "unknown")
        switch c.model {
        case .sentencePiece:
            preTokenizer = nil
            if c.bosTokenID == nil && n > 1 { bos = 1 }
            if c.eosTokenID == nil && n > 2 { eos = 2 }
            if c.unknownTokenID == nil { unk = 0 }
            addBOS = c.addBOS ?? true
            addEOS = c.addEOS ?? false
            addSpacePrefix = c.addSpacePrefix ?? true
        case .bytePairEncoding:
            let pre = try PreTokenizer(name: c.preTokenizer)
            preTokenizer = pre
            addBOS = c.addBOS ?? pre.addsBOSByDefault
            addEOS = c.addEOS ?? false
            addSpacePrefix = false
        case .wordPiece:
            preTokenizer = nil
            addBOS = c.addBOS ?? true
            addEOS = c.addEOS ?? true
            addSpacePrefix = false
            if unk == nil { unk = vocab.id(of: "[UNK]") }
            guard unk != nil else { throw .missingSpecialToken(role: "unknown") }
        }
        if addBOS && bos == nil { throw .missingSpecialToken(role: "BOS") }
        if addEOS && eos == nil { throw .missingSpecialToken(role: "EOS") }
        bosTokenID = bos
        eosTokenID = eos
        unknownTokenID = unk
        paddingTokenID = try checked(c.paddingTokenID, "padding")
        let eom = try checked(c.eomTokenID, "EOM")
        var eot = try checked(c.eotTokenID, "EOT")

        // End-of-generation tokens (llama.cpp's special_eog_ids): found by their text, marked control.
        func firstID(_ texts: [String]) -> TokenID? {
            texts.compactMap { vocab.id(of: $0) }.min()
        }
        var byText = Set<TokenID>()
        if eot == nil, let t = firstID(Self.endOfTurnTexts) {
            eot = t
            byText.insert(t)
        }
        for t in [firstID(Self.fimPadTexts), firstID(Self.fimRepoTexts), firstID(Self.fimSeparatorTexts)] {
            if let t { byText.insert(t) }
        }
        for text in Self.endOfGenerationTexts { if let t = vocab.id(of: text) { byText.insert(t) } }
        // A token picked by its text is a control token even if the file says otherwise.
        for t in byText { vocab.attributes[Int(t)].insert(.control) }
        var eog = byText
        for t in [eos, eot, eom] { if let t { eog.insert(t) } }
        let end = vocab.id(of: "<|end|>")
        if let end, eog.contains(end), vocab.id(of: "<|return|>").map(eog.contains) == true,
           vocab.id(of: "<|call|>").map(eog.contains) == true {
            eog.remove(end)
            vocab.attributes[Int(end)] = .userDefined
        }
        eotTokenID = eot
        eomTokenID = eom
        endOfGenerationTokenIDs = eog

        bpe = c.model == .bytePairEncoding
            ? try BytePairModel(vocab: vocab, merges: c.merges, ignoreMerges: preTokenizer?.ignoresMerges ?? false) : nil
        spm = c.model == .sentencePiece ? SentencePieceModel(vocab: vocab, unknownTokenID: unk) : nil
        wordPiece = c.model == .wordPiece ? WordPieceModel(options: c.wordPiece, unknown: unk ?? 0) : nil

        var userDefined: [Int32] = []
        var special: [Int32] = []
        for (i, a) in vocab.attributes.enumerated() where !a.isDisjoint(with: [.control, .userDefined, .unknown]) {
            special.append(Int32(i))
            if a.isDisjoint(with: [.control, .unknown]) { userDefined.append(Int32(i)) }
        }
        plainPartitioner = SpecialTokenPartitioner(vocab: vocab, ids: userDefined)
        specialPartitioner = SpecialTokenPartitioner(vocab: vocab, ids: special)

        var pool: [UInt8] = []
        pool.reserveCapacity(vocab.textPool.count)
        var starts: [Int32] = [0]
        starts.reserveCapacity(n + 1)
        for id in 0..<n {
            Self.appendPiece(id, vocab: vocab, model: c.model, wordPiecePrefix: c.wordPiece.continuingSubwordPrefix, to: &pool)
            starts.append(Int32(pool.count))
        }
        piecePool = pool
        pieceStarts = starts
        self.vocab = vocab
    }

    // MARK: - Token texts llama.cpp treats specially (llama-vocab.cpp, load())

    static let endOfTurnTexts = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>",
        "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
    ]
    static let endOfGenerationTexts = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>", "<|endoftext|>",
        "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>",
    ]
    static let fimPadTexts = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"]
    static let fimRepoTexts = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]
    static let fimSeparatorTexts = ["<|file_sep|>"]

    // MARK: - Pieces

    private static func appendPiece(
        _ id: Int, vocab: Vocabulary, model: TokenizerModelKind, wordPiecePrefix: String, to out: inout [UInt8]
    ) {
        let a = vocab.attributes[id]
        let text = vocab.textBytes(id)
        if !a.isDisjoint(with: [.unknown, .control, .userDefined]) {
            out.append(contentsOf: text)
        } else if a.contains(.normal) {
            switch model {
            case .bytePairEncoding:
                // Characters outside the byte alphabet are kept as they are.
                for s in vocab.texts[id].unicodeScalars {
                    let v = Int(s.value)
                    if v < ByteLevel.scalarToByte.count, ByteLevel.scalarToByte[v] >= 0 {
                        out.append(UInt8(ByteLevel.scalarToByte[v]))
                    } else {
                        out.append(contentsOf: String(s).utf8)
                    }
                }
            case .sentencePiece:
                var i = text.startIndex
                while i < text.endIndex {
                    if text[i] == 0xE2, i + 2 < text.endIndex, text[i + 1] == 0x96, text[i + 2] == 0x81 {
                        out.append(0x20)
                        i += 3
                    } else {
                        out.append(text[i])
                        i += 1
                    }
                }
            case .wordPiece:
                // Continuation pieces join the previous one; other pieces start a new word.
                let p = Array(wordPiecePrefix.utf8)
                if !p.isEmpty && text.starts(with: p) {
                    out.append(contentsOf: text.dropFirst(p.count))
                } else {
                    out.append(0x20)
                    out.append(contentsOf: text)
                }
            }
        } else if a.contains(.byte), let b = Self.byteValue(text) {
            out.append(b)
        }
    }

    /// The byte of a `<0xNN>` token text.
    static func byteValue(_ text: ArraySlice<UInt8>) -> UInt8? {
        guard text.count == 6, text.first == 0x3C, text.last == 0x3E else { return nil }
        let s = String(decoding: text, as: UTF8.self)
        return UInt8(s.dropFirst(3).dropLast(), radix: 16)
    }
}
