import Foundation
import Inference
import ModelFormats
import Testing
import Tokenizers

@Suite struct GGUFTokenizerTests {
    func write(_ w: GGUFWriter) throws -> GGUFFile {
        let path = NSTemporaryDirectory() + "tok-\(UUID().uuidString).gguf"
        try w.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try GGUFFile(path: path)
    }

    @Test func loadsATokenizerFromMetadata() throws {
        var w = GGUFWriter()
        let tokens = (0...255).map { Tiny.byteChar(UInt8($0)) } + ["ab", "<|im_end|>"]
        w.set("general.architecture", .string("qwen2"))
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.pre", .string("qwen2"))
        w.set("tokenizer.ggml.tokens", .array(.string, tokens.map { .string($0) }))
        w.set("tokenizer.ggml.token_type", .array(.int32, tokens.indices.map { .int32($0 == 257 ? 3 : 1) }))
        w.set("tokenizer.ggml.merges", .array(.string, [.string("a b")]))
        w.set("tokenizer.ggml.eos_token_id", .uint32(257))
        w.set("tokenizer.ggml.add_bos_token", .bool(false))
        try w.addTensor("x", shape: [1], floats: [0])
        let tok = try Tokenizer.load(from: write(w))
        #expect(tok.encode("ab1<|im_end|>", parseSpecial: true) == [256, 49, 257])
        #expect(tok.eosTokenID == 257 && tok.isEndOfGeneration(257))
        #expect(!tok.addBOS)
    }

    @Test func unknownModelAndBadIDsAreErrors() throws {
        var w = GGUFWriter()
        w.set("tokenizer.ggml.model", .string("bert"))
        w.set("tokenizer.ggml.tokens", .array(.string, [.string("a")]))
        try w.addTensor("x", shape: [1], floats: [0])
        #expect(throws: TokenizerError.unsupportedModel("bert")) { try Tokenizer.load(from: write(w)) }
        w.set("tokenizer.ggml.model", .string("llama"))
        w.set("tokenizer.ggml.bos_token_id", .uint32(7))
        #expect(throws: TokenizerError.tokenIDOutOfRange(role: "tokenizer.ggml.bos_token_id", id: 7, vocabularySize: 1)) {
            try Tokenizer.load(from: write(w))
        }
    }
}
