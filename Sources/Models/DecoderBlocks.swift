import Kernels
import Synchronization

// The pieces every decoder in this module is built from. A model file reads its tensors into
// these weight structs and writes its forward pass as a sequence of `ForwardPass` steps; the
// arithmetic lives in Kernels.

/// Weights of one self-attention block. Shapes are (rows, cols).
struct AttentionWeights: @unchecked Sendable {
    var query: WeightMatrix               // (heads * headDim, dim)
    var key: WeightMatrix                 // (kvHeads * headDim, dim)
    var value: WeightMatrix               // (kvHeads * valueDim, dim)
    var output: WeightMatrix              // (dim, heads * valueDim)
    var queryBias: UnsafePointer<Float>?  // (heads * headDim)
    var keyBias: UnsafePointer<Float>?    // (kvHeads * headDim)
    var valueBias: UnsafePointer<Float>?  // (kvHeads * valueDim)
    var queryNorm: UnsafePointer<Float>?  // (headDim), RMS-normalizes each query head
    var keyNorm: UnsafePointer<Float>?    // (headDim), RMS-normalizes each key head

    /// Reads `blk.<layer>.attn_{q,k,v,output}` (and the optional biases and q/k norms).
    init(_ r: TensorReader, layer: Int, config c: ModelConfig, biases: Bool, qkNorms: Bool) throws(ModelError) {
        let p = "blk.\(layer)."
        query = try r.matrix(p + "attn_q.weight", rows: c.queryWidth, cols: c.embeddingLength)
        key = try r.matrix(p + "attn_k.weight", rows: c.keyWidth, cols: c.embeddingLength)
        value = try r.matrix(p + "attn_v.weight", rows: c.valueWidth, cols: c.embeddingLength)
        output = try r.matrix(p + "attn_output.weight", rows: c.embeddingLength, cols: c.headCount * c.valueDim)
        if biases {
            queryBias = try r.vector(p + "attn_q.bias", count: c.queryWidth)
            keyBias = try r.vector(p + "attn_k.bias", count: c.keyWidth)
            valueBias = try r.vector(p + "attn_v.bias", count: c.valueWidth)
        } else {
            queryBias = try r.optionalVector(p + "attn_q.bias", count: c.queryWidth)
            keyBias = try r.optionalVector(p + "attn_k.bias", count: c.keyWidth)
            valueBias = try r.optionalVector(p + "attn_v.bias", count: c.valueWidth)
        }
        if qkNorms {
            queryNorm = try r.vector(p + "attn_q_norm.weight", count: c.headDim)
            keyNorm = try r.vector(p + "attn_k_norm.weight", count: c.headDim)
        }
    }
}

/// Weights of a gated feed-forward block: down(act(gate · x) * (up · x)).
struct FeedForwardWeights: @unchecked Sendable {
    var gate: WeightMatrix  // (ff, dim)
    var up: WeightMatrix    // (ff, dim)
    var down: WeightMatrix  // (dim, ff)

    init(_ r: TensorReader, layer: Int, config c: ModelConfig) throws(ModelError) {
        let p = "blk.\(layer)."
        gate = try r.matrix(p + "ffn_gate.weight", rows: c.feedForwardLength, cols: c.embeddingLength)
        up = try r.matrix(p + "ffn_up.weight", rows: c.feedForwardLength, cols: c.embeddingLength)
        down = try r.matrix(p + "ffn_down.weight", rows: c.embeddingLength, cols: c.feedForwardLength)
    }
}

/// The gate activation of a gated FFN.
enum GateActivation {
    case silu      // SwiGLU (LLaMA, Qwen2)
    case geluTanh  // GeGLU with tanh-approximated GELU (Gemma)
}

/// How one layer's attention rotates and masks.
struct AttentionSpec {
    var ropeStyle: RopeStyle
    var ropeBase: Float
    var ropeScale: Float
    var ropeDims: Int
    var ropeFactors: UnsafePointer<Float>? = nil  // (ropeDims / 2) `rope_freqs`, dividing each pair's angle
    var scale: Float   // multiplies q · k
    var window: Int?   // sliding window, nil for global attention
}

/// Activations of one micro-batch of up to `maxBatch` tokens, allocated once per model
/// (llama2.c's RunState, minus the KV cache, which the caller owns). Rows are tokens.
final class Activations: @unchecked Sendable {
    let maxBatch: Int
    let x: UnsafeMutablePointer<Float>          // (batch, dim) residual stream
    let xb: UnsafeMutablePointer<Float>         // (batch, dim) normalized input of a block
    let xb2: UnsafeMutablePointer<Float>        // (batch, dim) output of a block
    let q: UnsafeMutablePointer<Float>          // (batch, heads * headDim)
    let k: UnsafeMutablePointer<Float>          // (batch, kvHeads * headDim)
    let v: UnsafeMutablePointer<Float>          // (batch, kvHeads * valueDim)
    let attention: UnsafeMutablePointer<Float>  // (batch, heads * valueDim)
    let hb: UnsafeMutablePointer<Float>         // (batch, ff)
    let hb2: UnsafeMutablePointer<Float>        // (batch, ff)
    private let all: [UnsafeMutablePointer<Float>]

    init(config c: ModelConfig, maxBatch: Int) {
        self.maxBatch = maxBatch
        func buffer(_ width: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: maxBatch * width)
            p.initialize(repeating: 0, count: maxBatch * width)
            return p
        }
        x = buffer(c.embeddingLength)
        xb = buffer(c.embeddingLength)
        xb2 = buffer(c.embeddingLength)
        q = buffer(c.queryWidth)
        k = buffer(c.keyWidth)
        v = buffer(c.valueWidth)
        attention = buffer(c.headCount * c.valueDim)
        hb = buffer(c.feedForwardLength)
        hb2 = buffer(c.feedForwardLength)
        all = [x, xb, xb2, q, k, v, attention, hb, hb2]
    }

    deinit { for p in all { p.deallocate() } }
}

/// One micro-batch on its way through a model: `batch` tokens at positions
/// `position ..< position + batch`. Each method is one step of the forward pass, applied to
/// every token of the batch.
struct ForwardPass {
    let a: Activations
    let config: ModelConfig
    let pool: ThreadPool
    let cache: any KVCacheStorage
    let cacheFormat: QuantFormat
    let batch: Int
    let position: Int

    var dim: Int { config.embeddingLength }

    /// x[b] = embedding row of tokens[b], times `scale`.
    func embed(_ tokens: ArraySlice<Int>, table: WeightMatrix, scale: Float = 1) {
        for (b, token) in tokens.enumerated() {
            let row = a.x + b * dim
            table.dequantizeRow(token, into: row)
            if scale != 1 { Kernels.scale(row, row, by: scale, count: dim) }
        }
    }

    /// out[b] = RMSNorm(x[b]) * weight, rows of `width` (defaults to the model width).
    func rmsNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, rows: Int? = nil, width: Int? = nil) {
        let w = width ?? dim
        for r in 0..<(rows ?? batch) {
            Kernels.rmsNorm(out + r * w, x + r * w, weight: weight, count: w, eps: config.rmsEpsilon)
        }
    }

    /// x[b] += y[b].
    func addResidual(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>) {
        add(x, x, y, count: batch * dim)
    }

    /// y = W · x for every token, plus `bias` when there is one.
    func project(_ w: WeightMatrix, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>? = nil) {
        matmul(w, x, y, batch: batch, pool: pool)
        if let bias {
            for b in 0..<batch { add(y + b * w.rows, y + b * w.rows, bias, count: w.rows) }
        }
    }

    /// out = Wo · Attention(RoPE(Wq · x), RoPE(Wk · x), Wv · x) over the cache of `layer`, after
    /// appending this batch's keys and values to it.
    func selfAttention(_ w: AttentionWeights, layer: Int, spec: AttentionSpec, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        let c = config
        project(w.query, input, into: a.q, bias: w.queryBias)
        project(w.key, input, into: a.k, bias: w.keyBias)
        project(w.value, input, into: a.v, bias: w.valueBias)
        if let qn = w.queryNorm { rmsNorm(a.q, a.q, weight: qn, rows: batch * c.headCount, width: c.headDim) }
        if let kn = w.keyNorm { rmsNorm(a.k, a.k, weight: kn, rows: batch * c.headCountKV, width: c.headDim) }
        for b in 0..<batch {
            applyRope(a.q + b * c.queryWidth, heads: c.headCount, headDim: c.headDim, ropeDims: spec.ropeDims,
                      position: position + b, freqBase: spec.ropeBase, freqScale: spec.ropeScale,
                      frequencyFactors: spec.ropeFactors, style: spec.ropeStyle)
            applyRope(a.k + b * c.keyWidth, heads: c.headCountKV, headDim: c.headDim, ropeDims: spec.ropeDims,
                      position: position + b, freqBase: spec.ropeBase, freqScale: spec.ropeScale,
                      frequencyFactors: spec.ropeFactors, style: spec.ropeStyle)
        }
        let keys = cache.keys(layer: layer), values = cache.values(layer: layer)
        let element = cacheFormat == .f16 ? 2 : 4
        for b in 0..<batch {
            storeCacheRow(keys + (position + b) * c.keyWidth * element, a.k + b * c.keyWidth, count: c.keyWidth, format: cacheFormat)
            storeCacheRow(values + (position + b) * c.valueWidth * element, a.v + b * c.valueWidth, count: c.valueWidth, format: cacheFormat)
        }
        attention(output: a.attention, queries: a.q, batch: batch, firstPosition: position,
                  keys: keys, values: values, format: cacheFormat,
                  heads: c.headCount, kvHeads: c.headCountKV, headDim: c.headDim, valueDim: c.valueDim,
                  scale: spec.scale, window: spec.window, pool: pool)
        project(w.output, a.attention, into: output)
    }

    /// out = down(act(gate · x) * (up · x)).
    func feedForward(_ w: FeedForwardWeights, activation: GateActivation, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        project(w.gate, input, into: a.hb)
        project(w.up, input, into: a.hb2)
        let ff = config.feedForwardLength
        pool.parallelFor(batch) { start, end in
            let n = (end - start) * ff, h = a.hb + start * ff, h2 = a.hb2 + start * ff
            switch activation {
            case .silu: siluMul(h, gate: h, up: h2, count: n)
            case .geluTanh: geluTanhMul(h, gate: h, up: h2, count: n)
            }
        }
        project(w.down, a.hb, into: output)
    }

    /// logits = output · RMSNorm(x) * norm, for the rows `target` asks for (none when nil).
    func logits(norm: UnsafePointer<Float>, output: WeightMatrix, into target: LogitsTarget?) {
        guard let target, !target.rows.isEmpty else { return }
        rmsNorm(a.xb, a.x + target.rows.lowerBound * dim, weight: norm, rows: target.rows.count)
        matmul(output, a.xb, target.pointer, batch: target.rows.count, pool: pool)
    }
}

/// The rows of a micro-batch whose logits are wanted, and where they go (row after row).
struct LogitsTarget {
    var rows: Range<Int>
    var pointer: UnsafeMutablePointer<Float>
}

/// What every decoder shares around its forward pass: argument checks, one lock, the split into
/// micro-batches, and where each micro-batch's logits go.
final class DecoderRunner: @unchecked Sendable {
    let config: ModelConfig
    let pool: ThreadPool
    let activations: Activations
    private let lock = Mutex<Void>(())

    init(config: ModelConfig, pool: ThreadPool, maxBatch: Int) {
        self.config = config
        self.pool = pool
        activations = Activations(config: config, maxBatch: max(1, maxBatch))
    }

    /// Validates, then calls `body` once per micro-batch with its pass, its tokens, and where
    /// its logits go (nil when none of its rows are wanted).
    func run(
        tokens: [Int], cache: any KVCacheStorage, logits: LogitsSelection, into output: inout [Float],
        body: (ForwardPass, ArraySlice<Int>, LogitsTarget?) -> Void
    ) throws {
        guard !tokens.isEmpty else { throw ModelError.emptyInput }
        let c = config
        let layout = cache.layout
        guard layout.layers == c.blockCount, layout.keyWidth == c.keyWidth, layout.valueWidth == c.valueWidth else {
            throw ModelError.cacheMismatch(
                "it has \(layout.layers) layers of keys \(layout.keyWidth) and values \(layout.valueWidth) wide; "
                    + "the model needs \(c.blockCount) layers of \(c.keyWidth) and \(c.valueWidth)")
        }
        guard cache.count >= 0, cache.count + tokens.count <= layout.capacity else {
            throw ModelError.contextFull(capacity: layout.capacity, used: cache.count, requested: tokens.count)
        }
        for t in tokens where t < 0 || t >= c.vocabularySize {
            throw ModelError.tokenOutOfRange(token: t, vocabularySize: c.vocabularySize)
        }
        let vocab = c.vocabularySize
        let needed: Int
        switch logits {
        case .none: needed = 0
        case .last: needed = vocab
        case .all: needed = tokens.count * vocab
        }
        if output.count != needed { output = [Float](repeating: 0, count: needed) }
        let format: QuantFormat = layout.element == .f16 ? .f16 : .f32

        lock.withLock { _ in
            output.withUnsafeMutableBufferPointer { out in
                var start = 0
                while start < tokens.count {
                    let n = min(activations.maxBatch, tokens.count - start)
                    let pass = ForwardPass(a: activations, config: c, pool: pool, cache: cache, cacheFormat: format,
                                           batch: n, position: cache.count)
                    let isLast = start + n == tokens.count
                    let target: LogitsTarget?
                    switch logits {
                    case .none: target = nil
                    case .last: target = isLast ? LogitsTarget(rows: (n - 1)..<n, pointer: out.baseAddress!) : nil
                    case .all: target = LogitsTarget(rows: 0..<n, pointer: out.baseAddress! + start * vocab)
                    }
                    body(pass, tokens[start..<(start + n)], target)
                    cache.count += n
                    start += n
                }
            }
        }
    }
}
