#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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

/// Whether GeGLU rounds GELU through llama.cpp's F16 table (the default) or computes it exactly
/// (`STUDIO_GELU=exact`, for measuring what the rounding changes).
let geluThroughF16Table = getenv("STUDIO_GELU").map { String(cString: $0) != "exact" } ?? true

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
    var queryScale: Float = 1   // multiplies the queries after RoPE, before attention (Gemma 3, as llama.cpp)
    var window: Int?   // sliding window, nil for global attention
}

/// Debugging aid: when set, the forward passes hand every intermediate result to it (name as
/// llama.cpp's graph calls it, layer or -1, `rows * width` floats, width). Checked once per step,
/// so it costs nothing measurable when nil; set it only while no forward pass runs.
@_spi(Debugging) nonisolated(unsafe) public var forwardTap: ((_ name: String, _ layer: Int, _ data: UnsafePointer<Float>, _ count: Int, _ width: Int) -> Void)?

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
    // Bookkeeping of the current micro-batch, kept to reuse its storage.
    var tokens: [Int] = []                      // (batch) token of each row
    var segments: [Segment] = []                // runs of rows from one sequence
    var logitRows: [LogitRow] = []              // rows whose logits are wanted, and where they go
    var logitScratch: [Float] = []              // logits of scattered rows before they are copied out

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
        tokens.reserveCapacity(maxBatch)
        segments.reserveCapacity(maxBatch)
        logitRows.reserveCapacity(maxBatch)
    }

    deinit { for p in all { p.deallocate() } }
}

/// A run of consecutive rows of a micro-batch that belong to one sequence: rows
/// `rows` run at positions `position ..< position + rows.count` of `cache`. `stepRows`: how many
/// of the sequence's tokens llama.cpp would evaluate in the same step as these (its micro-batch),
/// which selects its attention kernel.
struct Segment {
    var rows: Range<Int>
    var cache: any KVCacheStorage
    var position: Int
    var format: QuantFormat
    var stepRows: Int
}

/// llama.cpp's default micro-batch (`n_ubatch`): it evaluates a longer input 512 tokens at a time.
/// A forward call runs its tokens in steps of this many, from its first token.
public let llamaCppStepTokens = 512

/// How many of a sequence's next `remaining` tokens (`start` of them already placed; at most
/// `space`) go into the current micro-batch. Pieces end at llama.cpp's 512-token steps, and a
/// step's last piece keeps at least 8 rows where it can, because llama.cpp's batched K-quant and
/// Q8_0 kernels round per row the same for every batch from 8 rows, and ours choose theirs by
/// the rows of a micro-batch.
func pieceLength(start: Int, remaining: Int, space: Int) -> Int {
    let stepLeft = llamaCppStepTokens - start % llamaCppStepTokens
    let left = min(remaining, stepLeft)
    var n = min(space, left)
    if left - n > 0 && left - n < 8 && n >= 16 { n -= 8 }
    return n
}

/// A row of the micro-batch whose logits are wanted, and the `vocabulary` floats they go to.
struct LogitRow {
    var row: Int
    var destination: UnsafeMutablePointer<Float>
}

/// One micro-batch on its way through a model: `batch` rows, each a token of some sequence at
/// some position (`a.segments` says which). Each method is one step of the forward pass,
/// applied to every row; only RoPE, the cache and attention look at the segments.
struct ForwardPass {
    let a: Activations
    let config: ModelConfig
    let pool: ThreadPool
    let batch: Int

    var dim: Int { config.embeddingLength }

    /// Hands `batch` rows of `width` floats at `data` to `forwardTap`, if one is set.
    @inline(__always)
    func tap(_ name: String, _ layer: Int, _ data: UnsafePointer<Float>, width: Int? = nil) {
        if let forwardTap { let w = width ?? dim; forwardTap(name, layer, data, batch * w, w) }
    }

    /// x[b] = embedding row of the token of row b, times `scale`.
    func embed(table: WeightMatrix, scale: Float = 1) {
        for (b, token) in a.tokens.enumerated() {
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

    /// y[b] += bias for every token, when there is a bias.
    func addBias(_ bias: UnsafePointer<Float>?, to y: UnsafeMutablePointer<Float>, width: Int) {
        guard let bias else { return }
        for b in 0..<batch { add(y + b * width, y + b * width, bias, count: width) }
    }

    /// out = Wo · Attention(RoPE(Wq · x), RoPE(Wk · x), Wv · x) over the cache of `layer`, after
    /// appending this batch's keys and values to it.
    func selfAttention(_ w: AttentionWeights, layer: Int, spec: AttentionSpec, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        let c = config
        // One quantization of the input and one dispatch for all three projections.
        matmul(w.query, a.q, w.key, a.k, w.value, a.v, input: input, batch: batch, pool: pool)
        addBias(w.queryBias, to: a.q, width: w.query.rows)
        addBias(w.keyBias, to: a.k, width: w.key.rows)
        addBias(w.valueBias, to: a.v, width: w.value.rows)
        if let qn = w.queryNorm { rmsNorm(a.q, a.q, weight: qn, rows: batch * c.headCount, width: c.headDim) }
        if let kn = w.keyNorm { rmsNorm(a.k, a.k, weight: kn, rows: batch * c.headCountKV, width: c.headDim) }
        tap("Qcur.MUL_MAT", layer, a.q, width: c.queryWidth)
        tap("Kcur.MUL_MAT", layer, a.k, width: c.keyWidth)
        tap("Vcur.MUL_MAT", layer, a.v, width: c.valueWidth)
        for segment in a.segments {
            for b in segment.rows {
                let position = segment.position + (b - segment.rows.lowerBound)
                applyRope(a.q + b * c.queryWidth, heads: c.headCount, headDim: c.headDim, ropeDims: spec.ropeDims,
                          position: position, freqBase: spec.ropeBase, freqScale: spec.ropeScale,
                          frequencyFactors: spec.ropeFactors, style: spec.ropeStyle)
                applyRope(a.k + b * c.keyWidth, heads: c.headCountKV, headDim: c.headDim, ropeDims: spec.ropeDims,
                          position: position, freqBase: spec.ropeBase, freqScale: spec.ropeScale,
                          frequencyFactors: spec.ropeFactors, style: spec.ropeStyle)
                if spec.queryScale != 1 { Kernels.scale(a.q + b * c.queryWidth, a.q + b * c.queryWidth, by: spec.queryScale, count: c.queryWidth) }
            }
            let keys = segment.cache.keys(layer: layer), values = segment.cache.values(layer: layer)
            let element = segment.format == .f16 ? 2 : 4
            for b in segment.rows {
                let position = segment.position + (b - segment.rows.lowerBound)
                storeCacheRow(keys + position * c.keyWidth * element, a.k + b * c.keyWidth, count: c.keyWidth, format: segment.format)
                storeCacheRow(values + position * c.valueWidth * element, a.v + b * c.valueWidth, count: c.valueWidth, format: segment.format)
            }
            let first = segment.rows.lowerBound
            attention(output: a.attention + first * c.headCount * c.valueDim, queries: a.q + first * c.queryWidth,
                      batch: segment.rows.count, firstPosition: segment.position,
                      keys: keys, values: values, format: segment.format,
                      heads: c.headCount, kvHeads: c.headCountKV, headDim: c.headDim, valueDim: c.valueDim,
                      scale: spec.scale, window: spec.window, pool: pool, stepRows: segment.stepRows)
        }
        tap("Qcur.ROPE", layer, a.q, width: c.queryWidth)
        tap("Kcur.ROPE", layer, a.k, width: c.keyWidth)
        tap("kqv_out.RESHAPE", layer, a.attention, width: c.headCount * c.valueDim)
        project(w.output, a.attention, into: output)
    }

    /// out = down(act(gate · x) * (up · x)).
    func feedForward(_ w: FeedForwardWeights, activation: GateActivation, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, layer: Int = -1) {
        matmul(w.gate, a.hb, w.up, a.hb2, input: input, batch: batch, pool: pool)
        let ff = config.feedForwardLength
        tap("ffn_gate.MUL_MAT", layer, a.hb, width: ff)
        tap("ffn_up.MUL_MAT", layer, a.hb2, width: ff)
        defer { tap("ffn_out.MUL_MAT", layer, output) }
        pool.parallelFor(batch) { start, end in
            let n = (end - start) * ff, h = a.hb + start * ff, h2 = a.hb2 + start * ff
            switch activation {
            case .silu: siluMul(h, gate: h, up: h2, count: n)
            case .geluTanh:
                if geluThroughF16Table { geluTanhMulF16Table(h, gate: h, up: h2, count: n) } else { geluTanhMul(h, gate: h, up: h2, count: n) }
            }
        }
        tap(activation == .silu ? "ffn_swiglu.SWIGLU" : "ffn_geglu.GEGLU", layer, a.hb, width: ff)
        project(w.down, a.hb, into: output)
    }

    /// logits = output · RMSNorm(x) * norm, for the rows `a.logitRows` asks for, all through the
    /// output matrix at once; straight into place when the destinations follow each other.
    func logits(norm: UnsafePointer<Float>, output: WeightMatrix) {
        let wanted = a.logitRows
        if wanted.isEmpty { return }
        let vocab = output.rows
        var contiguous = true
        for (i, r) in wanted.enumerated() {
            rmsNorm(a.xb + i * dim, a.x + r.row * dim, weight: norm, rows: 1)
            if r.destination != wanted[0].destination + i * vocab { contiguous = false }
        }
        if contiguous {
            matmul(output, a.xb, wanted[0].destination, batch: wanted.count, pool: pool)
            return
        }
        if a.logitScratch.count < wanted.count * vocab { a.logitScratch = [Float](repeating: 0, count: wanted.count * vocab) }
        a.logitScratch.withUnsafeMutableBufferPointer { scratch in
            matmul(output, a.xb, scratch.baseAddress!, batch: wanted.count, pool: pool)
            for (i, r) in wanted.enumerated() { r.destination.update(from: scratch.baseAddress! + i * vocab, count: vocab) }
        }
    }
}

/// What every decoder shares around its forward pass: argument checks, one lock, the packing of
/// one or more sequences into micro-batches, and where each row's logits go.
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

    private func validate(_ s: SequenceInput) throws {
        let c = config
        guard !s.tokens.isEmpty else { throw ModelError.emptyInput }
        let layout = s.cache.layout
        guard layout.layers == c.blockCount, layout.keyWidth == c.keyWidth, layout.valueWidth == c.valueWidth else {
            throw ModelError.cacheMismatch(
                "it has \(layout.layers) layers of keys \(layout.keyWidth) and values \(layout.valueWidth) wide; "
                    + "the model needs \(c.blockCount) layers of \(c.keyWidth) and \(c.valueWidth)")
        }
        guard s.cache.count >= 0, s.cache.count + s.tokens.count <= layout.capacity else {
            throw ModelError.contextFull(capacity: layout.capacity, used: s.cache.count, requested: s.tokens.count)
        }
        for t in s.tokens where t < 0 || t >= c.vocabularySize {
            throw ModelError.tokenOutOfRange(token: t, vocabularySize: c.vocabularySize)
        }
    }

    /// Validates every sequence, then packs their tokens, in order, into micro-batches of up to
    /// `maxBatch` rows and calls `body` for each. `output` receives every sequence's selected
    /// logits one after another; the result says which rows of it belong to each sequence.
    func run(
        sequenceCount: Int, sequence: (Int) -> SequenceInput, into output: inout [Float], body: (ForwardPass) -> Void
    ) throws {
        try run(sequenceCount: sequenceCount, sequence: sequence, into: &output, body: body, record: { _ in })
    }

    /// As `run(sequenceCount:sequence:into:body:)`, replacing `ranges` with each sequence's
    /// range of `output` (its storage is kept: no allocation once it has grown).
    func run(
        sequenceCount: Int, sequence: (Int) -> SequenceInput, into output: inout [Float], ranges: inout [Range<Int>],
        body: (ForwardPass) -> Void
    ) throws {
        ranges.removeAll(keepingCapacity: true)
        try run(sequenceCount: sequenceCount, sequence: sequence, into: &output, body: body, record: { ranges.append($0) })
    }

    private func run(
        sequenceCount: Int, sequence: (Int) -> SequenceInput, into output: inout [Float], body: (ForwardPass) -> Void,
        record: (Range<Int>) -> Void
    ) throws {
        var totalRows = 0
        for i in 0..<sequenceCount {
            let s = sequence(i)
            try validate(s)
            for j in 0..<i where sequence(j).cache === s.cache {
                throw ModelError.cacheMismatch("sequences \(j) and \(i) share one cache; each needs its own")
            }
            totalRows += s.logits.rows(count: s.tokens.count).count
        }
        let vocab = config.vocabularySize
        if output.count != totalRows * vocab { output = [Float](repeating: 0, count: totalRows * vocab) }
        let a = activations

        lock.withLock { _ in
            output.withUnsafeMutableBufferPointer { out in
                a.tokens.removeAll(keepingCapacity: true)
                a.segments.removeAll(keepingCapacity: true)
                a.logitRows.removeAll(keepingCapacity: true)
                var outputRow = 0
                func flush() {
                    if a.tokens.isEmpty { return }
                    body(ForwardPass(a: a, config: config, pool: pool, batch: a.tokens.count))
                    for segment in a.segments { segment.cache.count += segment.rows.count }
                    a.tokens.removeAll(keepingCapacity: true)
                    a.segments.removeAll(keepingCapacity: true)
                    a.logitRows.removeAll(keepingCapacity: true)
                }
                for i in 0..<sequenceCount {
                    let s = sequence(i)
                    let format: QuantFormat = s.cache.layout.element == .f16 ? .f16 : .f32
                    let firstRow = outputRow
                    let wanted = s.logits.rows(count: s.tokens.count)
                    var start = 0
                    while start < s.tokens.count {
                        if a.tokens.count == a.maxBatch { flush() }
                        let n = pieceLength(start: start, remaining: s.tokens.count - start, space: a.maxBatch - a.tokens.count)
                        let stepStart = start - start % llamaCppStepTokens
                        let row0 = a.tokens.count
                        a.tokens.append(contentsOf: s.tokens[start..<(start + n)])
                        // The cache advances after each micro-batch, so pending rows of this
                        // sequence in earlier micro-batches are already counted.
                        a.segments.append(Segment(rows: row0..<(row0 + n), cache: s.cache, position: s.cache.count, format: format,
                                                  stepRows: min(llamaCppStepTokens, s.tokens.count - stepStart)))
                        for j in 0..<n {
                            if wanted.contains(start + j) {
                                a.logitRows.append(LogitRow(row: row0 + j, destination: out.baseAddress! + outputRow * vocab))
                                outputRow += 1
                            }
                        }
                        start += n
                        if start < s.tokens.count { flush() }  // the rest runs after these rows are cached
                    }
                    record((firstRow * vocab)..<(outputRow * vocab))
                }
                flush()
            }
        }
    }
}
