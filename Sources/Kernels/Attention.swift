/// Causal multi-head attention over a KV cache (GQA when `kvHeads < heads`), softmax in F32.
///
/// For token `b` of the batch, at position `p = firstPosition + b`, and query head `h` (reading
/// key/value head `h / (heads / kvHeads)`):
///
///     scores[t] = scale * q[b, h] · K[t]          for t in max(0, p - window + 1) ... p
///     out[b, h] = Σ_t softmax(scores)[t] * V[t]
///
/// - `queries`: `batch` rows of `heads * headDim` floats; `output`: `batch` rows of
///   `heads * valueDim` floats.
/// - `keys` / `values`: cache rows (position-major), `kvHeads * headDim` and `kvHeads * valueDim`
///   elements wide, in `format` (`.f16` or `.f32`). Rows up to `firstPosition + batch - 1` must
///   be written already (the batch's own keys included): that is what makes it causal.
/// - `window`: sliding-window size (a token sees itself and the `window - 1` before it), or nil.
///
/// Work is split over (token, head) pairs on `pool`; per-thread score rows come from
/// `pool.workspace`, so nothing is allocated once it has grown. Decode (batch 1) touches each
/// cached row once per head: no O(n²) work.
public func attention(
    output: UnsafeMutablePointer<Float>, queries: UnsafePointer<Float>, batch: Int, firstPosition: Int,
    keys: UnsafeRawPointer, values: UnsafeRawPointer, format: QuantFormat,
    heads: Int, kvHeads: Int, headDim: Int, valueDim: Int, scale: Float, window: Int?, pool: ThreadPool
) {
    precondition(format == .f16 || format == .f32, "attention: the KV cache must be F16 or F32, not \(format)")
    precondition(heads % kvHeads == 0, "attention: \(heads) heads are not a multiple of \(kvHeads) KV heads")
    let group = heads / kvHeads
    let keyStride = kvHeads * headDim, valueStride = kvHeads * valueDim
    let maxSpan = firstPosition + batch
    let rowFloats = (maxSpan + 15) & ~15
    let isF16 = format == .f16
    pool.workspace.withBuffer(bytes: pool.threads * rowFloats * 4) { raw in
        let scratch = raw.assumingMemoryBound(to: Float.self)
        pool.parallelForWithThreadIndex(batch * heads) { start, end, thread in
            let scores = scratch + thread * rowFloats
            for item in start..<end {
                let b = item / heads, h = item % heads
                let kvHead = h / group
                let position = firstPosition + b
                let first = window.map { max(0, position - $0 + 1) } ?? 0
                let span = position - first + 1
                let q = queries + b * heads * headDim + h * headDim
                let out = output + b * heads * valueDim + h * valueDim

                // scores = scale * q · K[t]
                if isF16 {
                    let k = keys.assumingMemoryBound(to: UInt16.self) + kvHead * headDim
                    for i in 0..<span { scores[i] = scale * dotF32F16Fast(q, k + (first + i) * keyStride, count: headDim) }
                } else {
                    let k = keys.assumingMemoryBound(to: Float.self) + kvHead * headDim
                    for i in 0..<span { scores[i] = scale * dotF32(q, k + (first + i) * keyStride, count: headDim) }
                }
                softmax(scores, count: span)

                // out = Σ p[t] V[t]
                out.update(repeating: 0, count: valueDim)
                if isF16 {
                    let v = values.assumingMemoryBound(to: UInt16.self) + kvHead * valueDim
                    for i in 0..<span { addScaledF16Fast(out, v + (first + i) * valueStride, scores[i], count: valueDim) }
                } else {
                    let v = values.assumingMemoryBound(to: Float.self) + kvHead * valueDim
                    for i in 0..<span { addScaled(out, v + (first + i) * valueStride, scores[i], count: valueDim) }
                }
            }
        }
    }
}

/// Writes `count` floats to a cache row in `format` (`.f16`, rounded to nearest even, or `.f32`).
public func storeCacheRow(_ destination: UnsafeMutableRawPointer, _ source: UnsafePointer<Float>, count: Int, format: QuantFormat) {
    precondition(format == .f16 || format == .f32, "storeCacheRow: the KV cache must be F16 or F32, not \(format)")
    if format == .f32 {
        destination.assumingMemoryBound(to: Float.self).update(from: source, count: count)
    } else {
        f32ToF16(destination.assumingMemoryBound(to: UInt16.self), source, count: count)
    }
}

// MARK: - F16 helpers (SIMD where the platform has Float16)

/// Σ a[i] * f16(b[i]).
@inline(__always)
func dotF32F16Fast(_ a: UnsafePointer<Float>, _ b: UnsafePointer<UInt16>, count n: Int) -> Float {
    #if !(arch(x86_64) && os(macOS))
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 16 <= n {
        let b0 = SIMD8<Float>(rb.loadUnaligned(fromByteOffset: i * 2, as: SIMD8<Float16>.self))
        let b1 = SIMD8<Float>(rb.loadUnaligned(fromByteOffset: i * 2 + 16, as: SIMD8<Float16>.self))
        acc0.addProduct(ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self), b0)
        acc1.addProduct(ra.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self), b1)
        i += 16
    }
    var s = (acc0 + acc1).sum()
    while i < n { s += a[i] * fp16ToFloat(b[i]); i += 1 }
    return s
    #else
    return dotF32F16(a, b, count: n)
    #endif
}

/// y[i] += s * f16(x[i]).
@inline(__always)
func addScaledF16Fast(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<UInt16>, _ s: Float, count n: Int) {
    #if !(arch(x86_64) && os(macOS))
    var i = 0
    let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
    let vs = SIMD8<Float>(repeating: s)
    while i + 8 <= n {
        var vy = ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        vy.addProduct(vs, SIMD8<Float>(rx.loadUnaligned(fromByteOffset: i * 2, as: SIMD8<Float16>.self)))
        ry.storeBytes(of: vy, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n { y[i] += s * fp16ToFloat(x[i]); i += 1 }
    #else
    addScaledF16(y, x, s, count: n)
    #endif
}
