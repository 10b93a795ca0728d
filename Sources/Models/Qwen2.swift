import Kernels
import ModelFormats

// Qwen2 / Qwen2.5 decoder (`general.architecture` = "qwen2"), matching llama.cpp's
// `llm_build_qwen2`: the LLaMA block with biases on the query, key and value projections and
// NeoX-style (halves) RoPE.

/// The weights of one Qwen2 block.
struct Qwen2Block: @unchecked Sendable {
    var attentionNorm: UnsafePointer<Float>  // (dim)
    var attention: AttentionWeights          // q/k/v biases required
    var ffnNorm: UnsafePointer<Float>        // (dim)
    var ffn: FeedForwardWeights

    init(_ r: TensorReader, layer: Int, config c: ModelConfig) throws(ModelError) {
        attentionNorm = try r.vector("blk.\(layer).attn_norm.weight", count: c.embeddingLength)
        attention = try AttentionWeights(r, layer: layer, config: c, biases: true, qkNorms: false)
        ffnNorm = try r.vector("blk.\(layer).ffn_norm.weight", count: c.embeddingLength)
        ffn = try FeedForwardWeights(r, layer: layer, config: c)
    }
}

public final class Qwen2Model: LanguageModel, @unchecked Sendable {
    public let config: ModelConfig
    let file: GGUFFile
    let storage: OwnedVectors
    let embedding: WeightMatrix         // (vocab, dim) token_embd
    let blocks: [Qwen2Block]
    let outputNorm: UnsafePointer<Float>
    let output: WeightMatrix            // (vocab, dim) output, or token_embd when tied
    let attentionSpec: AttentionSpec
    let runner: DecoderRunner

    public init(file: GGUFFile, pool: ThreadPool, maxBatch: Int = 64) throws(ModelError) {
        let c = try ModelConfig(gguf: file)
        let r = TensorReader(file: file)
        config = c
        self.file = file
        storage = r.storage
        embedding = try r.matrix("token_embd.weight", rows: c.vocabularySize, cols: c.embeddingLength)
        var blocks: [Qwen2Block] = []
        for l in 0..<c.blockCount { blocks.append(try Qwen2Block(r, layer: l, config: c)) }
        self.blocks = blocks
        outputNorm = try r.vector("output_norm.weight", count: c.embeddingLength)
        output = try r.optionalMatrix("output.weight", rows: c.vocabularySize, cols: c.embeddingLength) ?? embedding
        attentionSpec = AttentionSpec(
            ropeStyle: .halves, ropeBase: c.ropeFreqBase, ropeScale: c.ropeFreqScale, ropeDims: c.ropeDimensionCount,
            scale: 1 / Float(c.headDim).squareRoot(), window: nil)
        runner = DecoderRunner(config: c, pool: pool, maxBatch: maxBatch)
    }

    public func forward(tokens: [Int], cache: any KVCacheStorage, logits: LogitsSelection, into output: inout [Float]) throws {
        try runner.run(sequenceCount: 1, sequence: { _ in SequenceInput(tokens: tokens, cache: cache, logits: logits) },
                       into: &output, body: forward(_:))
    }

    public func forward(sequences: [SequenceInput], into output: inout [Float], ranges: inout [Range<Int>]) throws {
        try runner.run(sequenceCount: sequences.count, sequence: { sequences[$0] }, into: &output, ranges: &ranges, body: forward(_:))
    }

    /// One micro-batch, top to bottom.
    private func forward(_ pass: ForwardPass) {
        let a = pass.a
        pass.embed(table: embedding)                          // x = E[token]
        for (l, block) in blocks.enumerated() {
            pass.rmsNorm(a.xb, a.x, weight: block.attentionNorm)      // h = RMSNorm(x)
            pass.tap("attn_norm.MUL", l, a.xb)
            pass.selfAttention(block.attention, layer: l, spec: attentionSpec, input: a.xb, output: a.xb2)
            pass.tap("attn_out.MUL_MAT", l, a.xb2)
            pass.addResidual(a.x, a.xb2)                              // x = x + Attention(h), q/k/v with bias
            pass.tap("ffn_inp.ADD", l, a.x)
            pass.rmsNorm(a.xb, a.x, weight: block.ffnNorm)            // h = RMSNorm(x)
            pass.tap("ffn_norm.MUL", l, a.xb)
            pass.feedForward(block.ffn, activation: .silu, input: a.xb, output: a.xb2, layer: l)
            pass.addResidual(a.x, a.xb2)                              // x = x + SwiGLU(h)
            pass.tap("l_out.ADD", l, a.x)
        }
        pass.logits(norm: outputNorm, output: output)  // W_out · RMSNorm(x)
    }
}
