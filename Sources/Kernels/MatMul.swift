import CKernels

/// A weight matrix stored row-major, zero-copy over (typically memory-mapped) bytes:
/// `rows` rows of `cols` elements, each row `format.rowBytes(cols)` bytes, rows contiguous.
public struct WeightMatrix: @unchecked Sendable {
    public let format: QuantFormat
    public let rows: Int
    public let cols: Int
    public let base: UnsafeRawPointer

    public init(format: QuantFormat, rows: Int, cols: Int, base: UnsafeRawPointer) {
        precondition(format.isWeightFormat, "WeightMatrix: \(format) is an activation-only format")
        precondition(cols % format.blockSize == 0, "WeightMatrix: cols \(cols) not a multiple of \(format) block size")
        self.format = format
        self.rows = rows
        self.cols = cols
        self.base = base
    }

    /// Bytes of one row.
    @inlinable public var rowBytes: Int { format.rowBytes(cols) }
    /// Total bytes of the matrix.
    @inlinable public var byteCount: Int { rowBytes * rows }
    /// Pointer to row `r`.
    @inlinable public func row(_ r: Int) -> UnsafeRawPointer { base + r * rowBytes }

    /// Dequantize row `r` into `dst` (`cols` floats), e.g. for an embedding lookup.
    public func dequantizeRow(_ r: Int, into dst: UnsafeMutablePointer<Float>) {
        Kernels.dequantizeRow(format, row(r), dst, count: cols)
    }
}

// MARK: - Activation quantization and single dot products

/// Quantize `count` F32 values into activation blocks of `format` (.q8_0, .q8_1 or .q8_K),
/// exactly as ggml's x86 CPU backend quantizes `src1` of a matmul.
/// `dst` must hold `format.rowBytes(count)` bytes.
public func quantizeActivations(_ format: QuantFormat, _ x: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) {
    precondition(count % format.blockSize == 0)
    switch format {
    case .q8_0: ck_quantize_row_q8_0(x, dst, Int64(count))
    case .q8_1: ck_quantize_row_q8_1(x, dst, Int64(count))
    case .q8_K: ck_quantize_row_q8_K(x, dst, Int64(count))
    default: preconditionFailure("quantizeActivations: \(format) is not an activation format")
    }
}

@usableFromInline
typealias QuantDot = @convention(c) (Int64, UnsafeRawPointer?, UnsafeRawPointer?) -> Float

@usableFromInline
func quantDotKernel(_ format: QuantFormat) -> QuantDot? {
    switch format {
    case .q4_0: return ck_vec_dot_q4_0_q8_0
    case .q4_1: return ck_vec_dot_q4_1_q8_1
    case .q5_0: return ck_vec_dot_q5_0_q8_0
    case .q5_1: return ck_vec_dot_q5_1_q8_1
    case .q8_0: return ck_vec_dot_q8_0_q8_0
    case .q2_K: return ck_vec_dot_q2_K_q8_K
    case .q3_K: return ck_vec_dot_q3_K_q8_K
    case .q4_K: return ck_vec_dot_q4_K_q8_K
    case .q5_K: return ck_vec_dot_q5_K_q8_K
    case .q6_K: return ck_vec_dot_q6_K_q8_K
    default: return nil
    }
}

@usableFromInline
typealias QuantGemm4 = @convention(c) (Int64, UnsafeRawPointer?, UnsafeRawPointer?, Int, UnsafeMutablePointer<Float>?) -> Void

/// Kernels computing one weight row against four activation rows at once (bit-identical to
/// four single dot products), where one exists.
@usableFromInline
func quantGemm4Kernel(_ format: QuantFormat) -> QuantGemm4? {
    switch format {
    case .q4_0: return ck_gemm4_q4_0_q8_0
    case .q5_0: return ck_gemm4_q5_0_q8_0
    case .q4_1: return ck_gemm4_q4_1_q8_1
    case .q5_1: return ck_gemm4_q5_1_q8_1
    case .q8_0: return ck_gemm4_q8_0_q8_0
    case .q4_K: return ck_gemm4_q4_K_q8_K
    case .q5_K: return ck_gemm4_q5_K_q8_K
    case .q6_K: return ck_gemm4_q6_K_q8_K
    default: return nil
    }
}

/// Dot product of one weight row (`count` elements of `weightFormat`) with one activation row
/// already quantized to `weightFormat.activationFormat` (or F32 for F32/F16/BF16 weights).
public func vecDot(_ weightFormat: QuantFormat, count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
    switch weightFormat {
    case .f32:
        return dotF32(w.assumingMemoryBound(to: Float.self), a.assumingMemoryBound(to: Float.self), count: count)
    case .f16:
        return ck_vec_dot_f16_f32(Int64(count), w.assumingMemoryBound(to: UInt16.self), a.assumingMemoryBound(to: Float.self))
    case .bf16:
        return ck_vec_dot_bf16_f32(Int64(count), w.assumingMemoryBound(to: UInt16.self), a.assumingMemoryBound(to: Float.self))
    default:
        guard let k = quantDotKernel(weightFormat) else { preconditionFailure("vecDot: no kernel for \(weightFormat)") }
        return k(Int64(count), w, a)
    }
}

/// True when the AVX2 kernels are active (false: portable scalar kernels).
public var kernelsUseAVX2: Bool { ck_uses_avx2() != 0 }

// MARK: - matmul

/// Rows handled together so their weights stay in L1 while they meet every activation vector.
@usableFromInline let matmulRowGroup = 4
/// Activation vectors handled together so they stay in L2 while a thread's rows stream by.
@usableFromInline let matmulBatchBlock = 32

/// y[b*rows + r] = dot(W row r, x[b*cols ..< (b+1)*cols]) for b in 0..<batch. x, y are F32.
///
/// Activations are quantized to the format the weight pairs with (Q8_0 for Q4_0/Q5_0/Q8_0,
/// Q8_1 for Q4_1/Q5_1, Q8_K for the K-quants; F32 stays F32 for F32/F16/BF16 weights), as ggml
/// does, then rows are split across the pool. With batch > 1 (prefill) the loop is tiled: each
/// group of `matmulRowGroup` rows meets a block of up to `matmulBatchBlock` activation vectors
/// while in cache.
///
/// Scratch: the quantized activations live in `pool.workspace`, which grows to the largest
/// size needed and is reused, so steady-state calls do not allocate. `x` and `y` must not overlap.
public func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, pool: ThreadPool) {
    matmulShared(MatmulPart(w, y), nil, nil, x, batch: batch, pool: pool)
}

/// Two matrices applied to the same input (e.g. gate and up): y0 = W0 · x, y1 = W1 · x.
/// When both pair with the same activation format, the input is quantized once and the rows of
/// both are split across the pool in one dispatch. Results equal two `matmul` calls bit for bit.
public func matmul(_ w0: WeightMatrix, _ y0: UnsafeMutablePointer<Float>, _ w1: WeightMatrix, _ y1: UnsafeMutablePointer<Float>,
                   input x: UnsafePointer<Float>, batch: Int, pool: ThreadPool) {
    matmulShared(MatmulPart(w0, y0), MatmulPart(w1, y1), nil, x, batch: batch, pool: pool)
}

/// Three matrices applied to the same input (e.g. query, key and value), as the two-matrix form.
public func matmul(_ w0: WeightMatrix, _ y0: UnsafeMutablePointer<Float>, _ w1: WeightMatrix, _ y1: UnsafeMutablePointer<Float>,
                   _ w2: WeightMatrix, _ y2: UnsafeMutablePointer<Float>,
                   input x: UnsafePointer<Float>, batch: Int, pool: ThreadPool) {
    matmulShared(MatmulPart(w0, y0), MatmulPart(w1, y1), MatmulPart(w2, y2), x, batch: batch, pool: pool)
}

@usableFromInline
typealias PreparedGemv = @convention(c) (Int64, UnsafeRawPointer?, Int, Int64, UnsafeRawPointer?, UnsafeMutablePointer<Float>?) -> Void

/// Bytes of one pair of prepared activation blocks (64 values; see `ck_quantize_row_q8_p`).
@usableFromInline let preparedPairBytes = Int(CK_Q8P_PAIR_BYTES)

/// One weight row against eight activation rows; returns 0 (and does nothing) where the CPU
/// lacks the instructions, and the caller uses the four-row kernel.
@usableFromInline
typealias QuantGemm8 = @convention(c) (Int64, UnsafeRawPointer?, UnsafeRawPointer?, Int, UnsafeMutablePointer<Float>?) -> Int32

/// Kernels on prepared activations, for the 32-element formats.
@usableFromInline
func preparedKernels(_ format: QuantFormat) -> (gemv: PreparedGemv, gemm4: QuantGemm4, gemm8: QuantGemm8)? {
    switch format {
    case .q4_0: return (ck_gemv_q4_0_p, ck_gemm4_q4_0_p, ck_gemm8_q4_0_p)
    case .q5_0: return (ck_gemv_q5_0_p, ck_gemm4_q5_0_p, ck_gemm8_q5_0_p)
    case .q8_0: return (ck_gemv_q8_0_p, ck_gemm4_q8_0_p, ck_gemm8_q8_0_p)
    case .q4_1: return (ck_gemv_q4_1_p, ck_gemm4_q4_1_p, ck_gemm8_q4_1_p)
    case .q5_1: return (ck_gemv_q5_1_p, ck_gemm4_q5_1_p, ck_gemm8_q5_1_p)
    default: return nil
    }
}

/// How the activations of a matmul are quantized: one prepared row for all 32-element formats,
/// Q8_K for the K-quants, none (F32) for float weights.
@usableFromInline
enum ActivationKind: Equatable {
    case float
    case prepared
    case q8K

    init(_ f: QuantFormat) {
        switch f {
        case .q4_0, .q5_0, .q8_0, .q4_1, .q5_1: self = .prepared
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: self = .q8K
        default: self = .float
        }
    }

    func rowBytes(_ cols: Int) -> Int {
        switch self {
        case .float: return cols * 4
        case .prepared: return (cols / 32 + 1) / 2 * preparedPairBytes
        case .q8K: return QuantFormat.q8_K.rowBytes(cols)
        }
    }

    func quantize(_ x: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) {
        switch self {
        case .float: break
        case .prepared: ck_quantize_row_q8_p(x, dst, Int64(count))
        case .q8K: ck_quantize_row_q8_K(x, dst, Int64(count))
        }
    }
}

/// A block of weight rows against a few activation rows (see `ck_gemm_cols_*`): arguments are
/// elements per row, first weight row, weight row bytes, rows, first activation row, activation
/// row bytes, columns, first output, output row stride (floats).
@usableFromInline
typealias ColumnsKernel = @convention(c) (Int64, UnsafeRawPointer?, Int, Int64, UnsafeRawPointer?, Int, Int32,
                                          UnsafeMutablePointer<Float>?, Int) -> Void

/// Multi-column kernels, for every quantized weight format.
@usableFromInline
func columnsKernel(_ format: QuantFormat) -> ColumnsKernel? {
    switch format {
    case .q4_0: return ck_gemm_cols_q4_0_p
    case .q5_0: return ck_gemm_cols_q5_0_p
    case .q8_0: return ck_gemm_cols_q8_0_p
    case .q4_1: return ck_gemm_cols_q4_1_p
    case .q5_1: return ck_gemm_cols_q5_1_p
    case .q2_K: return ck_gemm_cols_q2_K
    case .q3_K: return ck_gemm_cols_q3_K
    case .q4_K: return ck_gemm_cols_q4_K
    case .q5_K: return ck_gemm_cols_q5_K
    case .q6_K: return ck_gemm_cols_q6_K
    default: return nil
    }
}

/// Columns handed to one multi-column kernel call: the widest kernel's width.
@usableFromInline let matmulColumnBlock = 8

/// Whether llama.cpp's AVX2 build repacks a weight matrix of this format and row count (its q4_0
/// 8x8 and q4_K 8x8 layouts, taken only when the row count is a multiple of 8). That decides the
/// kernels it multiplies the matrix with, and so the order it adds floats in.
@inlinable public func llamaCppRepacks(_ format: QuantFormat, rows: Int) -> Bool {
    (format == .q4_0 || format == .q4_K) && rows % 8 == 0
}

/// How many leading activation rows of a batch of `batch` rows llama.cpp's AVX2 build (the one
/// the reference outputs come from) multiplies, for a matrix of `rows` rows, with another kernel
/// than a lone row, and so in another float order. Repacked Q4_0: all rows at any batch size (its
/// repacked kernels, one order for one row and for groups of four). Repacked Q4_K: full groups of
/// four rows. Q2_K, Q3_K, Q5_K, Q6_K and unrepacked Q4_K: in its tiled kernel, all rows of a
/// batch of eight or more. Every other format keeps one order for any batch (Q4_0/Q5_0/Q8_0
/// batches go through llamafile's kernels, whose order is vec_dot's).
@inlinable public func batchOrderRows(_ format: QuantFormat, rows: Int, batch: Int) -> Int {
    switch format {
    case .q4_0: return llamaCppRepacks(format, rows: rows) ? batch : 0
    case .q4_K: return llamaCppRepacks(format, rows: rows) ? batch - batch % 4 : (batch >= 8 ? batch : 0)
    case .q2_K, .q3_K, .q5_K, .q6_K: return batch >= 8 ? batch : 0
    default: return 0
    }
}

/// Multi-column kernels in the batch order of `batchOrderRows`, where it differs.
@usableFromInline
func batchColumnsKernel(_ format: QuantFormat, rows: Int) -> ColumnsKernel? {
    switch format {
    case .q4_0: return llamaCppRepacks(format, rows: rows) ? ck_gemm_cols_q4_0_p_repacked : nil
    case .q4_K: return llamaCppRepacks(format, rows: rows) ? ck_gemm_cols_q4_K_rows4 : ck_gemm_cols_q4_K_tiled
    case .q2_K: return ck_gemm_cols_q2_K_tiled
    case .q3_K: return ck_gemm_cols_q3_K_tiled
    case .q5_K: return ck_gemm_cols_q5_K_tiled
    case .q6_K: return ck_gemm_cols_q6_K_tiled
    default: return nil
    }
}

/// The lone-row dot product llama.cpp's AVX2 build computes for a matrix of `rows` rows, where it
/// is not `vecDot`'s: an unrepacked Q4_K matrix goes through its vec_dot (`vecDot` follows its
/// repacked kernel).
@usableFromInline
func loneRowDot(_ format: QuantFormat, rows: Int) -> QuantDot? {
    format == .q4_K && !llamaCppRepacks(format, rows: rows) ? ck_vec_dot_q4_K_q8_K_vec : nil
}

/// The dot product `matmul` computes for activation row `row` of a batch of `batch` rows against a
/// row of a matrix of `rows` rows: the single-row kernel (`vecDot`, or llama.cpp's vec_dot order
/// for an unrepacked Q4_K matrix), or the batch order of `batchOrderRows`. For tests.
public func batchVecDot(_ weightFormat: QuantFormat, count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer,
                        row: Int, batch: Int, rows: Int) -> Float {
    guard row < batchOrderRows(weightFormat, rows: rows, batch: batch) else {
        if let lone = loneRowDot(weightFormat, rows: rows) { return lone(Int64(count), w, a) }
        return vecDot(weightFormat, count: count, w, a)
    }
    switch weightFormat {
    case .q4_0: return ck_vec_dot_q4_0_q8_0_repacked(Int64(count), w, a)
    case .q4_K:
        return llamaCppRepacks(.q4_K, rows: rows) ? ck_vec_dot_q4_K_q8_K_rows4(Int64(count), w, a)
            : ck_vec_dot_q4_K_q8_K_tiled(Int64(count), w, a)
    case .q2_K: return ck_vec_dot_q2_K_q8_K_tiled(Int64(count), w, a)
    case .q3_K: return ck_vec_dot_q3_K_q8_K_tiled(Int64(count), w, a)
    case .q5_K: return ck_vec_dot_q5_K_q8_K_tiled(Int64(count), w, a)
    case .q6_K: return ck_vec_dot_q6_K_q8_K_tiled(Int64(count), w, a)
    default: return vecDot(weightFormat, count: count, w, a)
    }
}

/// One weight matrix of a (possibly fused) matmul and where its output goes.
@usableFromInline
struct MatmulPart {
    let w: WeightMatrix
    let y: UnsafeMutablePointer<Float>
    let kind: ActivationKind
    let gemv: PreparedGemv?
    let dot: QuantDot?
    let columns: ColumnsKernel?
    let batchColumns: ColumnsKernel?

    init(_ w: WeightMatrix, _ y: UnsafeMutablePointer<Float>) {
        self.w = w
        self.y = y
        kind = ActivationKind(w.format)
        let repackedQ4_0 = w.format == .q4_0 && llamaCppRepacks(.q4_0, rows: w.rows)
        gemv = repackedQ4_0 ? ck_gemv_q4_0_p_repacked : preparedKernels(w.format)?.gemv
        dot = gemv == nil ? quantDotKernel(w.format) : nil
        columns = loneRowDot(w.format, rows: w.rows) == nil ? columnsKernel(w.format) : ck_gemm_cols_q4_K_vec
        batchColumns = batchColumnsKernel(w.format, rows: w.rows)
    }

    /// y[b*rows + r] for rows lo..<hi of this matrix and activation rows b0..<b1 of a batch of
    /// `batch` rows (its leading `batchOrderRows` rows take the batch-order kernels).
    @inline(__always)
    func run(rows lo: Int, _ hi: Int, batch b0: Int, _ b1: Int, of batch: Int, qa: UnsafeRawPointer, aRowBytes: Int) {
        let n = Int64(w.cols), rowBytes = w.rowBytes, rows = w.rows
        if b1 - b0 == 1, let gemv {
            gemv(n, w.base + lo * rowBytes, rowBytes, Int64(hi - lo), qa + b0 * aRowBytes, y + b0 * rows + lo)
            return
        }
        if let columns {
            // Each weight row meets up to `matmulColumnBlock` activation rows per kernel call.
            let split = batchColumns == nil ? b0 : min(max(batchOrderRows(w.format, rows: rows, batch: batch), b0), b1)
            var b = b0
            while b < b1 {
                let end = b < split ? split : b1
                let nc = min(matmulColumnBlock, end - b)
                let kernel = b < split ? batchColumns.unsafelyUnwrapped : columns
                kernel(n, w.base + lo * rowBytes, rowBytes, Int64(hi - lo), qa + b * aRowBytes, aRowBytes, Int32(nc),
                       y + b * rows + lo, rows)
                b += nc
            }
            return
        }
        for r in lo..<hi {
            let wr = w.base + r * rowBytes
            for b in b0..<b1 { y[b * rows + r] = dot.unsafelyUnwrapped(n, wr, qa + b * aRowBytes) }
        }
    }
}

/// Up to three matrices over one input. Parts whose activation kind or width differs from the
/// first run as separate matmuls; float weights take the F32 path.
@usableFromInline
func matmulShared(_ p0: MatmulPart, _ p1: MatmulPart?, _ p2: MatmulPart?, _ x: UnsafePointer<Float>, batch: Int, pool: ThreadPool) {
    if batch <= 0 { return }
    let kind = p0.kind, cols = p0.w.cols
    func joins(_ p: MatmulPart?) -> Bool { p.map { $0.kind == kind && $0.w.cols == cols } ?? false }
    if kind == .float {
        matmulFloat(p0.w, x, p0.y, batch: batch, pool: pool)
        if let p1 { matmulShared(p1, nil, nil, x, batch: batch, pool: pool) }
        if let p2 { matmulShared(p2, nil, nil, x, batch: batch, pool: pool) }
        return
    }
    let j1 = joins(p1), j2 = joins(p2)
    if let p1, !j1 { matmulShared(p1, nil, nil, x, batch: batch, pool: pool) }
    if let p2, !j2 { matmulShared(p2, nil, nil, x, batch: batch, pool: pool) }
    let r0 = p0.w.rows
    let r1 = j1 ? p1.unsafelyUnwrapped.w.rows : 0
    let r2 = j2 ? p2.unsafelyUnwrapped.w.rows : 0
    let total = r0 + r1 + r2
    if total == 0 { return }
    let aRowBytes = kind.rowBytes(cols)
    pool.workspace.withBuffer(bytes: aRowBytes * batch) { qa in
        if batch * cols <= 8 * 4096 {
            // A few rows (decode of several sequences): cheaper than a dispatch.
            for b in 0..<batch { kind.quantize(x + b * cols, qa + b * aRowBytes, count: cols) }
        } else {
            pool.parallelFor(batch) { b0, b1 in
                for b in b0..<b1 { kind.quantize(x + b * cols, qa + b * aRowBytes, count: cols) }
            }
        }
        // Batched: a chunk of rows meets the activations one block of rows at a time. Prepared
        // rows are large (144 bytes per 64 values): eight of them (one 8-column kernel call) stay
        // in L1 while the chunk's weight rows stream from L2.
        let job = SharedRowsJob(
            p0: p0, p1: j1 ? p1 : nil, p2: j2 ? p2 : nil, r0: r0, r1: r1, qa: UnsafeRawPointer(qa),
            aRowBytes: aRowBytes, batch: batch, block: kind == .prepared ? 8 : matmulBatchBlock)
        pool.parallelFor(total, minChunk: matmulRowGroup, job: job)
    }
}

/// The rows of up to three weight matrices that share quantized activations, numbered one after
/// another (0..<r0, r0..<r0+r1, then the third), as one job for the pool.
private struct SharedRowsJob: ParallelJob {
    let p0: MatmulPart, p1: MatmulPart?, p2: MatmulPart?
    let r0: Int, r1: Int
    let qa: UnsafeRawPointer
    let aRowBytes: Int, batch: Int, block: Int

    func run(_ start: Int, _ end: Int, _ thread: Int) {
        if batch == 1 {
            runRange(start, end, 0, 1)
            return
        }
        var b0 = 0
        while b0 < batch {
            let b1 = min(batch, b0 + block)
            runRange(start, end, b0, b1)
            b0 = b1
        }
    }

    @inline(__always) func runRange(_ start: Int, _ end: Int, _ b0: Int, _ b1: Int) {
        if start < r0 { p0.run(rows: start, min(end, r0), batch: b0, b1, of: batch, qa: qa, aRowBytes: aRowBytes) }
        if let p1, start < r0 + r1, end > r0 {
            p1.run(rows: max(start, r0) - r0, min(end, r0 + r1) - r0, batch: b0, b1, of: batch, qa: qa, aRowBytes: aRowBytes)
        }
        if let p2, end > r0 + r1 {
            p2.run(rows: max(start, r0 + r1) - r0 - r1, end - r0 - r1, batch: b0, b1, of: batch, qa: qa, aRowBytes: aRowBytes)
        }
    }
}

/// F32 / F16 / BF16 weights: activations stay F32.
func matmulFloat(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, pool: ThreadPool) {
    let cols = w.cols, rows = w.rows, wRowBytes = w.rowBytes, wBase = w.base, format = w.format
    let aRowBytes = cols * 4
    matmulTiled(rows: rows, batch: batch, pool: pool) { r, b in
        vecDot(format, count: cols, wBase + r * wRowBytes, UnsafeRawPointer(x) + b * aRowBytes)
    } store: { r, b, v in y[b * rows + r] = v }
}

@inline(__always)
func matmulTiled(rows: Int, batch: Int, pool: ThreadPool,
                 _ dot: (Int, Int) -> Float, store: (Int, Int, Float) -> Void) {
    let group = matmulRowGroup
    pool.parallelFor(rows, minChunk: group) { start, end in
        if batch == 1 {
            for r in start..<end { store(r, 0, dot(r, 0)) }
            return
        }
        var b0 = 0
        while b0 < batch {
            let b1 = min(batch, b0 + matmulBatchBlock)
            var r0 = start
            while r0 < end {
                let r1 = min(end, r0 + group)
                for b in b0..<b1 {
                    for r in r0..<r1 { store(r, b, dot(r, b)) }
                }
                r0 = r1
            }
            b0 = b1
        }
    }
}

/// Force the portable scalar C kernels (true) or return to automatic CPU detection (false).
/// Affects only the calling thread (kernels run by pool workers are unaffected). For tests.
public func forceScalarKernels(_ on: Bool) { ck_force_scalar(on ? 1 : 0) }

/// True when the AVX-512 VL/VNNI kernels of the 32-element formats are active.
public var kernelsUseVNNI: Bool { ck_uses_vnni() != 0 }

/// Keep plain AVX2 kernels instead of AVX-512 VNNI (true) on the calling thread, or return to
/// automatic selection (false). For tests comparing the two.
public func forceAVX2Kernels(_ on: Bool) { ck_force_avx2_only(on ? 1 : 0) }

/// Column blocks of at least `columns` activation rows use the AVX-512 kernels (where the CPU
/// has them); smaller blocks stay on AVX2. Default 2. Process-wide; for measuring and tests.
public func setWideKernelMinColumns(_ columns: Int) { ck_set_wide_min_columns(Int32(columns)) }
