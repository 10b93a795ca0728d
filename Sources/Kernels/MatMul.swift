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
    if batch <= 0 || w.rows == 0 { return }
    let cols = w.cols, rows = w.rows
    let wRowBytes = w.rowBytes
    let wBase = w.base
    let format = w.format

    guard let act = format.activationFormat else {
        // F32 / F16 / BF16 weights: activations stay F32.
        let aRowBytes = cols * 4
        matmulTiled(rows: rows, batch: batch, pool: pool) { r, b in
            vecDot(format, count: cols, wBase + r * wRowBytes, UnsafeRawPointer(x) + b * aRowBytes)
        } store: { r, b, v in y[b * rows + r] = v }
        return
    }

    let aRowBytes = act.rowBytes(cols)
    let kernel = quantDotKernel(format)!
    let gemm4 = quantGemm4Kernel(format)
    pool.workspace.withBuffer(bytes: aRowBytes * batch) { qa in
        if batch == 1 {
            quantizeActivations(act, x, qa, count: cols)
        } else {
            pool.parallelFor(batch) { b0, b1 in
                for b in b0..<b1 { quantizeActivations(act, x + b * cols, qa + b * aRowBytes, count: cols) }
            }
        }
        let qaConst = UnsafeRawPointer(qa)
        let n = Int64(cols)
        guard batch > 1, let gemm4 else {
            matmulTiled(rows: rows, batch: batch, pool: pool) { r, b in
                kernel(n, wBase + r * wRowBytes, qaConst + b * aRowBytes)
            } store: { r, b, v in y[b * rows + r] = v }
            return
        }
        // Batched: each weight row meets its block of activation rows four at a time.
        pool.parallelFor(rows, minChunk: matmulRowGroup) { start, end in
            var out4 = SIMD4<Float>()
            withUnsafeMutableBytes(of: &out4) { raw in
                let o = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                var b0 = 0
                while b0 < batch {
                    let b1 = min(batch, b0 + matmulBatchBlock)
                    for r in start..<end {
                        let wr = wBase + r * wRowBytes
                        var b = b0
                        while b + 4 <= b1 {
                            gemm4(n, wr, qaConst + b * aRowBytes, aRowBytes, o)
                            y[b * rows + r] = o[0]
                            y[(b + 1) * rows + r] = o[1]
                            y[(b + 2) * rows + r] = o[2]
                            y[(b + 3) * rows + r] = o[3]
                            b += 4
                        }
                        while b < b1 {
                            y[b * rows + r] = kernel(n, wr, qaConst + b * aRowBytes)
                            b += 1
                        }
                    }
                    b0 = b1
                }
            }
        }
    }
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
