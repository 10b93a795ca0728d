// Small in-memory vocabularies for unit tests.

import Tokenizers

enum Tiny {
    /// The GPT-2 byte alphabet character for a byte.
    static func byteChar(_ b: UInt8) -> String {
        let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
        if printable { return String(Character(Unicode.Scalar(b))) }
        var n: UInt32 = 256
        for x in 0..<Int(b) where !((33...126).contains(x) || (161...172).contains(x) || (174...255).contains(x)) { n += 1 }
        return String(Character(Unicode.Scalar(n)!))
    }

    /// Byte-level BPE: ids 0…255 are the bytes, then `extra` tokens (texts in the byte alphabet).
    static func bpe(
        extra: [String] = [], types: [Int: TokenType] = [:], merges: [String], pre: String? = "gpt-2",
        bos: TokenID? = nil, eos: TokenID? = nil, addBOS: Bool? = nil
    ) throws -> Tokenizer {
        let tokens = (0...255).map { byteChar(UInt8($0)) } + extra
        var tt = [TokenType](repeating: .normal, count: tokens.count)
        for (i, t) in types { tt[i] = t }
        return try Tokenizer(config: TokenizerConfig(
            model: .bytePairEncoding, preTokenizer: pre, tokens: tokens, tokenTypes: tt, merges: merges,
            bosTokenID: bos, eosTokenID: eos, addBOS: addBOS))
    }

    /// SentencePiece: <unk> <s> </s>, the 256 byte tokens <0x00>…<0xFF> (ids 3…258), then `pieces`
    /// with their scores.
    static func spm(pieces: [(String, Float)], userDefined: [String] = [], control: [String] = [], addSpacePrefix: Bool = true) throws -> Tokenizer {
        var tokens = ["<unk>", "<s>", "</s>"]
        var types: [TokenType] = [.unknown, .control, .control]
        var scores: [Float] = [0, 0, 0]
        for b in 0..<256 {
            tokens.append("<0x" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true) + ">")
            types.append(.byte)
            scores.append(0)
        }
        for (p, s) in pieces { tokens.append(p); types.append(.normal); scores.append(s) }
        for u in userDefined { tokens.append(u); types.append(.userDefined); scores.append(0) }
        for c in control { tokens.append(c); types.append(.control); scores.append(0) }
        return try Tokenizer(config: TokenizerConfig(
            model: .sentencePiece, tokens: tokens, tokenTypes: types, scores: scores,
            bosTokenID: 1, eosTokenID: 2, unknownTokenID: 0, addBOS: true, addEOS: false, addSpacePrefix: addSpacePrefix))
    }
}
