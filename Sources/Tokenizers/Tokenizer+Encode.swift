// Encoding: partition out special tokens, then run the model on each stretch of raw text.

extension Tokenizer {
    /// Token ids for `text`.
    /// - Parameters:
    ///   - addSpecialTokens: add BOS/EOS where the model's metadata asks for them (turn off for text
    ///     that a chat template has already given its BOS).
    ///   - parseSpecial: recognise control tokens such as `<|im_start|>` in the text (CLI
    ///     `--special`); otherwise such text is tokenized as plain text. User-defined tokens are
    ///     always recognised, as in llama.cpp.
    public func encode(_ text: String, addSpecialTokens: Bool = true, parseSpecial: Bool = false) -> [TokenID] {
        var out: [TokenID] = []
        out.reserveCapacity(text.utf8.count / 3 + 4)
        var s = text
        s.withUTF8 { encode($0, addSpecialTokens: addSpecialTokens, parseSpecial: parseSpecial, into: &out) }
        return out
    }

    /// Token ids for UTF-8 `bytes`, appended to `out`. The bytes must be valid UTF-8.
    public func encode(
        _ bytes: UnsafeBufferPointer<UInt8>, addSpecialTokens: Bool, parseSpecial: Bool, into out: inout [TokenID]
    ) {
        var fragments: [Fragment] = []
        var scratch: [Fragment] = []
        (parseSpecial ? specialPartitioner : plainPartitioner).partition(bytes, into: &fragments, scratch: &scratch)
        if addSpecialTokens && addBOS, let bos = bosTokenID { out.append(bos) }
        if let bpe, let pre = preTokenizer, let base = bytes.baseAddress {
            var pts = PreTokenizerScratch()
            var words: [Int32] = []
            var bs = BPEScratch()
            for f in fragments {
                if f.token >= 0 {
                    out.append(f.token)
                    continue
                }
                words.removeAll(keepingCapacity: true)
                pre.split(UnsafeBufferPointer(start: base + f.start, count: f.end - f.start),
                          scalars: &pts.scalars, pieces: &pts.pieces, next: &pts.next, words: &words)
                var k = 0
                while k < words.count {
                    let ws = f.start + Int(words[k]), we = f.start + Int(words[k + 1])
                    if we > ws { bpe.encodeWord(base + ws, we - ws, vocab: vocab, into: &out, scratch: &bs) }
                    k += 2
                }
            }
        } else if let spm, let base = bytes.baseAddress {
            var ss = SPMScratch()
            var isPreviousSpecial = true
            for f in fragments {
                if f.token >= 0 {
                    out.append(f.token)
                    isPreviousSpecial = true
                    continue
                }
                // Spaces become U+2581; a space goes first at the start and after special tokens.
                ss.escaped.removeAll(keepingCapacity: true)
                if addSpacePrefix && isPreviousSpecial { ss.escaped.append(contentsOf: [0xE2, 0x96, 0x81]) }
                for i in f.start..<f.end {
                    let b = base[i]
                    if b == 0x20 { ss.escaped.append(contentsOf: [0xE2, 0x96, 0x81]) } else { ss.escaped.append(b) }
                }
                let escaped = ss.escaped
                escaped.withUnsafeBufferPointer { spm.encode($0, vocab: vocab, into: &out, scratch: &ss) }
                isPreviousSpecial = false
            }
        } else if let wordPiece {
            for f in fragments {
                if f.token >= 0 { out.append(f.token); continue }
                wordPiece.encode(UnsafeBufferPointer(rebasing: bytes[f.start..<f.end]), vocab: vocab, into: &out)
            }
        }
        if addSpecialTokens && addEOS, let eos = eosTokenID { out.append(eos) }
    }

    /// The words the pre-tokenizer cuts `text` into, for inspection (`studio tokenize`).
    public func preTokenize(_ text: String) -> [String] {
        guard let pre = preTokenizer else { return [text] }
        let utf8 = Array(text.utf8)
        return pre.split(text).map { String(decoding: utf8[$0], as: UTF8.self) }
    }
}
