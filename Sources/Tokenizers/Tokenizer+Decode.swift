// Decoding: token ids back to text, and per-token bytes and display text.

extension Tokenizer {
    /// The text of `ids`. Control tokens (BOS, EOS, `<|im_end|>`, …) render as nothing unless
    /// `renderSpecial`; then they render as their text, except a BOS this tokenizer adds at the
    /// start and an EOS it adds at the end. With `addSpacePrefix` (SentencePiece), the space
    /// `encode` put at the start of the text and after each special token is removed again, so
    /// `decode(encode(s)) == s`.
    public func decode<C: Collection>(_ ids: C, renderSpecial: Bool = false) -> String where C.Element == TokenID {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        var slice = ArraySlice(ids)
        if renderSpecial {
            if addBOS, let bos = bosTokenID, slice.first == bos { slice = slice.dropFirst() }
            if addEOS, let eos = eosTokenID, slice.last == eos { slice = slice.dropLast() }
        }
        // SentencePiece's space prefix, or the space WordPiece pieces put before each word.
        let leadingSpace = addSpacePrefix || model == .wordPiece
        var stripSpace = leadingSpace
        for id in slice {
            guard vocab.isValid(id) else { continue }
            let a = vocab.attributes[Int(id)]
            let special = !a.isDisjoint(with: [.control, .unknown, .userDefined])
            if special {
                if renderSpecial || !a.isDisjoint(with: .userDefined) { appendPiece(id, to: &bytes) }
                stripSpace = leadingSpace
                continue
            }
            let start = Int(pieceStarts[Int(id)]), end = Int(pieceStarts[Int(id) + 1])
            guard end > start else { continue }
            if stripSpace && piecePool[start] == 0x20 {
                bytes.append(contentsOf: piecePool[(start + 1)..<end])
            } else {
                bytes.append(contentsOf: piecePool[start..<end])
            }
            stripSpace = false
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The bytes token `id` contributes to decoded text (llama.cpp's `token_to_piece`): a part of
    /// a UTF-8 character for byte tokens, the token's text for control tokens (when
    /// `renderSpecial`, else nothing). Empty for an id outside the vocabulary.
    public func tokenBytes(_ id: TokenID, renderSpecial: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        appendTokenBytes(id, renderSpecial: renderSpecial, to: &out)
        return out
    }

    /// Appends what `tokenBytes` returns to `out` (a decode loop reuses one buffer this way).
    public func appendTokenBytes(_ id: TokenID, renderSpecial: Bool = false, to out: inout [UInt8]) {
        guard vocab.isValid(id) else { return }
        if !renderSpecial && !vocab.attributes[Int(id)].isDisjoint(with: [.control, .unknown]) { return }
        appendPiece(id, to: &out)
    }

    /// The token's text as stored in the vocabulary (byte-level alphabet or U+2581 spellings).
    public func tokenText(_ id: TokenID) -> String? {
        vocab.isValid(id) ? vocab.texts[Int(id)] : nil
    }

    /// The token's type as the model file gives it.
    public func tokenType(_ id: TokenID) -> TokenType? {
        vocab.isValid(id) ? vocab.types[Int(id)] : nil
    }

    /// Whether the token is a control token (as llama.cpp counts them, including end-of-turn
    /// tokens found by their text).
    public func isControl(_ id: TokenID) -> Bool {
        vocab.isValid(id) && vocab.attributes[Int(id)].contains(.control)
    }

    /// The id of the token whose vocabulary text is exactly `text`.
    public func tokenID(forText text: String) -> TokenID? { vocab.id(of: text) }

    /// A readable form of one token for logprobs and visualisation: its decoded text when that is
    /// whole UTF-8, the text of control tokens, and `<0xNN>` for each byte of a partial character.
    public func displayText(_ id: TokenID) -> String {
        guard vocab.isValid(id) else { return "<invalid \(id)>" }
        let bytes = tokenBytes(id, renderSpecial: true)
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        return bytes.map { "<0x" + (($0 < 16) ? "0" : "") + String($0, radix: 16, uppercase: true) + ">" }.joined()
    }

    /// Whether generation stops at this token (EOS, EOT, `<|im_end|>`, `<end_of_turn>`, …).
    public func isEndOfGeneration(_ id: TokenID) -> Bool { endOfGenerationTokenIDs.contains(id) }

    /// `isEndOfGeneration` for callers that keep ids as Int.
    public func isEndOfGeneration(_ id: Int) -> Bool {
        guard let t = TokenID(exactly: id) else { return false }
        return endOfGenerationTokenIDs.contains(t)
    }

    /// `tokenBytes` for callers that keep ids as Int.
    public func tokenBytes(_ id: Int, renderSpecial: Bool = false) -> [UInt8] {
        guard let t = TokenID(exactly: id) else { return [] }
        return tokenBytes(t, renderSpecial: renderSpecial)
    }

    /// A decoder that turns ids fed one at a time into text without splitting characters.
    public func streamingDecoder(renderSpecial: Bool = false) -> StreamingDecoder {
        StreamingDecoder(tokenizer: self, renderSpecial: renderSpecial)
    }

    @inline(__always)
    func appendPiece(_ id: TokenID, to out: inout [UInt8]) {
        out.append(contentsOf: piecePool[Int(pieceStarts[Int(id)])..<Int(pieceStarts[Int(id) + 1])])
    }
}
