import Kernels
import ModelFormats

// Gemma 3 text decoder (`general.architecture` = "gemma3"), matching llama.cpp's
// `llm_build_gemma3` with interleaved sliding-window attention:
// - embeddings scaled by sqrt(dim); output tied to the embedding unless `output.weight` exists;
// - RMSNorm before and after both attention and FFN, plus per-head RMSNorm of queries and keys.
//   GGUF stores Gemma's norm weights with the +1 already added by llama.cpp's converter, so
//   they multiply as they are;
// - five local layers (window `attention.sliding_window`, RoPE base 10000) for every global one
//   (layers 5, 11, 17, ...: `rope.freq_base` and its scaling), NeoX-style RoPE;
// - queries scaled by 1/sqrt(key_length) (query_pre_attn_scalar = head width), except the 27B
//   model (62 layers), scaled by 1/sqrt(dim / heads);
// - GeGLU feed-forward with tanh-approximated GELU.

/// The weights of one Gemma 3 block.
struct Gemma3Block: @unchecked Sendable {
    var attentionNorm: UnsafePointer<Float>      // (dim)
    var attention: AttentionWeights              // with q/k RMS norms
    var postAttentionNorm: UnsafePointer<Float>  // (dim)
    var ffnNorm: UnsafePointer<Float>            // (dim)
    var ffn: FeedForwardWeights
    var postFFNNorm: UnsafePointer<Float>        // (dim)
    var spec: AttentionSpec                      // local or global

    init(_ r: TensorReader, layer: Int, config c: ModelConfig, spec: AttentionSpec) throws(ModelError) {
        let p = "blk.\(layer)."
        attentionNorm = try r.vector(p + "attn_norm.weight", count: c.embeddingLength)
        attention = try AttentionWeights(r, layer: layer, config: c, biases: false, qkNorms: true)
        postAttentionNorm = try r.vector(p + "post_attention_norm.weight", count: c.embeddingLength)
        ffnNorm = try r.vector(p + "ffn_norm.weight", count: c.embeddingLength)
        ffn = try FeedForwardWeights(r, layer: layer, config: c)
        postFFNNorm = try r.vector(p + "post_ffw_norm.weight", count: c.embeddingLength)
        self.spec = spec
    }
}

public final class Gemma3Model: LanguageModel, @unchecked Sendable {
    /// Every `slidingWindowPattern`-th layer is global, the others local (llama.cpp's swa pattern).
    public static let slidingWindowPattern = 6
    /// RoPE base of the local layers.
    public static let localRopeBase: Float = 10000

    public let config: ModelConfig
    let file: GGUFFile
    let storage: OwnedVectors
    let embedding: WeightMatrix          // (vocab, dim) token_embd
    let embeddingScale: Float            // sqrt(dim)
    let blocks: [Gemma3Block]
    let outputNorm: UnsafePointer<Float>
    let output: WeightMatrix             // (vocab, dim)
    let runner: DecoderRunner

    /// Whether layer `layer` uses sliding-window (local) attention.
    public static func isLocal(layer: Int) -> Bool { layer % slidingWindowPattern < slidingWindowPattern - 1 }

    public init(file: GGUFFile, pool: ThreadPool, maxBatch: Int = 64) throws(ModelError) {
        let c = try ModelConfig(gguf: file)
        guard let window = c.slidingWindow else { throw .missingMetadata(key: "\(c.architecture).attention.sliding_window") }
        let r = TensorReader(file: file)
        config = c
        self.file = file
        storage = r.storage
        embedding = try r.matrix("token_embd.weight", rows: c.vocabularySize, cols: c.embeddingLength)
        embeddingScale = Float(c.embeddingLength).squareRoot()
        let scale = c.blockCount == 62
            ? 1 / Float(c.embeddingLength / c.headCount).squareRoot()
            : 1 / Float(c.headDim).squareRoot()
        let local = AttentionSpec(ropeStyle: .halves, ropeBase: Self.localRopeBase, ropeScale: 1,
                                  ropeDims: c.ropeDimensionCount, scale: 1, queryScale: scale, window: window)
        let global = AttentionSpec(ropeStyle: .halves, ropeBase: c.ropeFreqBase, ropeScale: c.ropeFreqScale,
                                   ropeDims: c.ropeDimensionCount, scale: 1, queryScale: scale, window: nil)
        var blocks: [Gemma3Block] = []
        for l in 0..<c.blockCount {
            blocks.append(try Gemma3Block(r, layer: l, config: c, spec: Self.isLocal(layer: l) ? local : global))
        }
        self.blocks = blocks
        outputNorm = try r.vector("output_norm.weight", count: c.embeddingLength)
        output = try r.optionalMatrix("output.weight", rows: c.vocabularySize, cols: c.embeddingLength) ?? embedding
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
        pass.embed(table: embedding, scale: embeddingScale)    // x = E[token] * sqrt(dim)
        for (l, block) in blocks.enumerated() {
            pass.rmsNorm(a.xb, a.x, weight: block.attentionNorm)       // h = RMSNorm(x)
            pass.tap("attn_norm.MUL", l, a.xb)
            pass.selfAttention(block.attention, layer: l, spec: block.spec, input: a.xb, output: a.xb2)
            pass.rmsNorm(a.xb2, a.xb2, weight: block.postAttentionNorm)
            pass.tap("attn_post_norm.MUL", l, a.xb2)
            pass.addResidual(a.x, a.xb2)                               // x = x + RMSNorm(Attention(h))
            pass.tap("sa_out.ADD", l, a.x)
            pass.rmsNorm(a.xb, a.x, weight: block.ffnNorm)             // h = RMSNorm(x)
            pass.tap("ffn_norm.MUL", l, a.xb)
            pass.feedForward(block.ffn, activation: .geluTanh, input: a.xb, output: a.xb2, layer: l)
            pass.rmsNorm(a.xb2, a.xb2, weight: block.postFFNNorm)
            pass.tap("ffn_post_norm.MUL", l, a.xb2)
            pass.addResidual(a.x, a.xb2)                               // x = x + RMSNorm(GeGLU(h))
            pass.tap("l_out.ADD", l, a.x)
        }
        pass.logits(norm: outputNorm, output: output)   // W_out · RMSNorm(x)
    }
}
