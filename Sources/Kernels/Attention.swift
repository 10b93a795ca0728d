import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
/// - `tiling`: how a prefill batch groups its rows (see `AttentionTiling`); the results do not
///   depend on it.
/// - `stepRows`: how many query rows llama.cpp would evaluate in this step (its micro-batch, at
///   most 512 by default; 0 when unknown). From `llamaCppBlockAttentionMinimumRows` on, an F16
///   cache at `.llamaCpp` precision runs `blockPrefillAttention`, llama.cpp's tiled kernel.
///
/// Work items are (token, KV head, piece of the span): the query heads sharing a KV head run
/// back to back over the same cached rows (hot in cache), and when there are too few (token, KV head)
/// pairs to keep every thread busy (decode), each span is cut into pieces whose partial
/// softmaxes are merged afterwards (flash-decoding). Scratch comes from `pool.workspace`, so
/// nothing is allocated once it has grown. Decode touches each cached row once: no O(n²) work.
/// A prefill batch with whole spans runs as tiles of rows against blocks of keys instead
/// (`tiledPrefillAttention`, `tiledPrefillAttentionFloat32`), with the same results.
public func attention(
    output: UnsafeMutablePointer<Float>, queries: UnsafePointer<Float>, batch: Int, firstPosition: Int,
    keys: UnsafeRawPointer, values: UnsafeRawPointer, format: QuantFormat,
    heads: Int, kvHeads: Int, headDim: Int, valueDim: Int, scale: Float, window: Int?, pool: ThreadPool,
    tiling: AttentionTiling = .standard, stepRows: Int = 0
) {
    precondition(format == .f16 || format == .f32, "attention: the KV cache must be F16 or F32, not \(format)")
    precondition(heads % kvHeads == 0, "attention: \(heads) heads are not a multiple of \(kvHeads) KV heads")
    if batch <= 0 { return }
    let group = heads / kvHeads
    let pairs = batch * kvHeads
    let longestSpan = window.map { min($0, firstPosition + batch) } ?? (firstPosition + batch)
    // At `.llamaCpp` precision a lone decode row is split as llama.cpp's flash attention splits
    // it: once its padded view of the cache reaches 512 cells, into one chunk of cells per thread,
    // merged in chunk order; the rows of a larger step (or of an unknown one, `stepRows` 0, with
    // more than one row) it never splits. Otherwise: pieces of at least 128 positions, enough of
    // them for two items per thread.
    let llamaCppRounding = format == .f16 && attentionPrecision == .llamaCpp
    let decodesAlone = llamaCppRounding && batch == 1 && stepRows == 1
    let pieces: Int, pieceLength: Int
    if decodesAlone {
        let view = llamaCppDecodeView(position: firstPosition, window: window)
        pieces = view >= 512 ? pool.threads : 1
        pieceLength = (view + pieces - 1) / pieces
    } else if llamaCppRounding && (stepRows > 1 || batch > 1) {
        pieces = 1
        pieceLength = longestSpan
    } else {
        pieces = pairs >= 2 * pool.threads ? 1 : max(1, min((2 * pool.threads + pairs - 1) / pairs, longestSpan / 128))
        pieceLength = (longestSpan + pieces - 1) / pieces
    }
    let items = pairs * pieces

    // Workspace: per item and head, a partial (max, sum, out[valueDim]); per thread, the scores
    // of one piece for `group` heads.
    let partialFloats = 2 + valueDim
    let partialsCount = pieces > 1 ? items * group * partialFloats : 0
    let threadFloats = (max(group * pieceLength, 2 * (headDim + 3 * pieceLength)) + 15) & ~15
    let geometry = AttentionGeometry(
        heads: heads, kvHeads: kvHeads, group: group, headDim: headDim, valueDim: valueDim,
        keyStride: kvHeads * headDim, valueStride: kvHeads * valueDim, scale: scale, isF16: format == .f16)
    if llamaCppRounding && stepRows >= llamaCppBlockAttentionMinimumRows {
        blockPrefillAttention(geometry, output: output, queries: queries, batch: batch, firstPosition: firstPosition,
                              keys: keys, values: values, window: window, pool: pool)
        return
    }
    // A row of a sliding-window layer whose keys wrap around llama.cpp's ring of cells is visited
    // in two runs, which only the tiled path does (a row alone is a tile of one).
    let wraps = window.map { firstPosition + batch > llamaCppRingCells(window: $0) } ?? false
    let ringOrder = wraps && llamaCppRounding && pieces == 1
    if pieces == 1 && (batch > 1 && tiling.positions > 1 || ringOrder) {
        if format == .f16 && attentionPrecision == .llamaCpp {
            tiledPrefillAttention(geometry, tiling: tiling, output: output, queries: queries, batch: batch,
                                  firstPosition: firstPosition, keys: keys, values: values, window: window, pool: pool)
        } else {
            tiledPrefillAttentionFloat32(geometry, tiling: tiling, output: output, queries: queries, batch: batch,
                                         firstPosition: firstPosition, keys: keys, values: values, window: window, pool: pool)
        }
        return
    }

    pool.workspace.withBuffer(bytes: (partialsCount + pool.threads * threadFloats) * 4) { raw in
        let partials = raw.assumingMemoryBound(to: Float.self)
        let pieceJob = AttentionPiecesJob(
            geometry: geometry, output: output, queries: queries, keys: keys, values: values,
            firstPosition: firstPosition, window: window, pieces: pieces, cellChunk: decodesAlone ? pieceLength : nil,
            partials: partials, partialFloats: partialFloats, threadScratch: partials + partialsCount, threadFloats: threadFloats)
        pool.parallelFor(items, job: pieceJob)
        if pieces == 1 { return }
        let mergeJob = AttentionMergeJob(
            geometry: geometry, output: output, pieces: pieces, partials: partials, partialFloats: partialFloats,
            inChunkOrder: decodesAlone)
        pool.parallelFor(batch * heads, job: mergeJob)
    }
}

/// Attention of (token, KV head, piece of the key range) items: each writes its heads' output
/// directly (one piece) or a partial to merge.
private struct AttentionPiecesJob: ParallelJob {
    let geometry: AttentionGeometry
    let output: UnsafeMutablePointer<Float>
    let queries: UnsafePointer<Float>
    let keys: UnsafeRawPointer, values: UnsafeRawPointer
    let firstPosition: Int, window: Int?, pieces: Int
    /// Cache rows per piece when pieces are cut from the cache (llama.cpp's chunks), not the span.
    let cellChunk: Int?
    let partials: UnsafeMutablePointer<Float>, partialFloats: Int
    let threadScratch: UnsafeMutablePointer<Float>, threadFloats: Int

    func run(_ start: Int, _ end: Int, _ thread: Int) {
        let g = geometry
        let scratch = threadScratch + thread * threadFloats
        for item in start..<end {
            let pair = item / pieces, piece = item % pieces
            let b = pair / g.kvHeads, kvHead = pair % g.kvHeads
            let position = firstPosition + b
            let first = window.map { max(0, position - $0 + 1) } ?? 0
            let lo: Int, hi: Int
            if let cellChunk {
                let run = llamaCppCellRun(cells: (piece * cellChunk)..<((piece + 1) * cellChunk), position: position, window: window)
                lo = run.lowerBound
                hi = run.upperBound
            } else {
                let length = (position - first + pieces) / pieces
                lo = first + piece * length
                hi = min(position + 1, lo + length)
            }
            let q = queries + b * g.heads * g.headDim + kvHead * g.group * g.headDim
            let out = pieces == 1 ? output + b * g.heads * g.valueDim + kvHead * g.group * g.valueDim : nil
            let partial = pieces == 1 ? nil : partials + item * g.group * partialFloats
            if g.isF16 && attentionPrecision == .llamaCpp {
                attendPieceLlamaCpp(g, q: q, keys: keys, values: values, kvHead: kvHead, range: lo..<hi,
                                    scratch: scratch, output: out, partial: partial)
            } else {
                attendPiece(g, q: q, keys: keys, values: values, kvHead: kvHead, range: lo..<hi,
                            scratch: scratch, output: out, partial: partial)
            }
        }
    }
}

/// Merges the pieces of each (token, head): rescale to a common max and normalize; or, in chunk
/// order, as llama.cpp folds its chunks one after another.
private struct AttentionMergeJob: ParallelJob {
    let geometry: AttentionGeometry
    let output: UnsafeMutablePointer<Float>
    let pieces: Int
    let partials: UnsafeMutablePointer<Float>, partialFloats: Int
    let inChunkOrder: Bool

    func run(_ start: Int, _ end: Int, _ thread: Int) {
        let heads = geometry.heads, kvHeads = geometry.kvHeads, group = geometry.group, valueDim = geometry.valueDim
        for bh in start..<end {
            let b = bh / heads, h = bh % heads
            let kvHead = h / group, j = h % group
            let out = output + b * heads * valueDim + h * valueDim
            if inChunkOrder {
                foldInChunkOrder(out, first: partials + (b * kvHeads + kvHead) * pieces * group * partialFloats + j * partialFloats,
                                 stride: group * partialFloats)
                continue
            }
            var m = -Float.infinity
            for piece in 0..<pieces {
                let p = partials + ((b * kvHeads + kvHead) * pieces + piece) * group * partialFloats + j * partialFloats
                if p[1] > 0 { m = max(m, p[0]) }
            }
            var sum: Float = 0
            out.update(repeating: 0, count: valueDim)
            for piece in 0..<pieces {
                let p = partials + ((b * kvHeads + kvHead) * pieces + piece) * group * partialFloats + j * partialFloats
                if p[1] == 0 { continue }
                let w = expf(p[0] - m)
                sum += p[1] * w
                addScaled(out, p + 2, w, count: valueDim)
            }
            scale_(out, out, 1 / sum, valueDim)
        }
    }

    /// llama.cpp's reduction of its chunks: per chunk with a nonzero sum, M' = max(M, m),
    /// out = out e^(M - M') + v e^(m - M') (the chunk's product rounded, then one FMA), the same
    /// for the sum; finally out / sum as a multiplication by its inverse.
    @inline(__always)
    private func foldInChunkOrder(_ out: UnsafeMutablePointer<Float>, first: UnsafeMutablePointer<Float>, stride: Int) {
        let valueDim = geometry.valueDim
        var m = -Float.infinity, sum: Float = 0
        out.update(repeating: 0, count: valueDim)
        for piece in 0..<pieces {
            let p = first + piece * stride
            if p[1] == 0 { continue }
            let merged = fmaxf(m, p[0])
            let old = expf(m - merged), new = expf(p[0] - merged)
            for d in 0..<valueDim { out[d] = (p[2 + d] * new).addingProduct(out[d], old) }
            sum = (p[1] * new).addingProduct(sum, old)
            m = merged
        }
        if sum != 0 { scale_(out, out, 1 / sum, valueDim) }
    }
}

/// The cache rows llama.cpp's attention spans for a lone sequence decoding at `position`: its used
/// cells padded to 256 (at least 256), for a sliding-window layer at most its ring of cells.
func llamaCppDecodeView(position: Int, window: Int?) -> Int {
    let view = max(256, (position + 256) / 256 * 256)
    return window.map { min(view, llamaCppRingCells(window: $0)) } ?? view
}

/// llama.cpp keeps a sliding-window layer's keys (one sequence, its default 512-token steps) in a
/// ring of `window + 512` cells rounded up to 256: position p in cell p % ring, a cell reused once
/// the window has left it. Its attention visits cells in order, so past the ring a row's keys come
/// in two runs: the positions of the current lap (the lowest cells) first, then the older ones.
func llamaCppRingCells(window: Int) -> Int { (window + 512 + 255) / 256 * 256 }

/// Key positions `from ..< to` in llama.cpp's cell order (see `llamaCppRingCells`): the run from
/// the last lap boundary, then the run before it (empty when the span does not wrap). A span
/// shorter than the ring crosses at most one boundary.
func llamaCppKeyRuns(_ from: Int, _ to: Int, window: Int?) -> (first: Range<Int>, second: Range<Int>) {
    guard let window, to > from else { return (from..<max(from, to), to..<to) }
    let ring = llamaCppRingCells(window: window)
    let boundary = (to - 1) / ring * ring
    if boundary <= from { return (from..<to, to..<to) }
    return (boundary..<to, from..<boundary)
}

/// The positions held by cells `cells` of llama.cpp's cache that the row at `position` sees: one
/// run (a chunk of at most half a sliding-window ring cannot hold keys of both laps, since the
/// unseen cells between them are ring - window >= 512).
func llamaCppCellRun(cells: Range<Int>, position: Int, window: Int?) -> Range<Int> {
    let first = window.map { max(0, position - $0 + 1) } ?? 0
    func visible(_ r: Range<Int>) -> Range<Int> {
        let lo = max(r.lowerBound, first), hi = min(r.upperBound, position + 1)
        return lo < hi ? lo..<hi : lo..<lo
    }
    guard let window, position >= llamaCppRingCells(window: window) else { return visible(cells) }
    let ring = llamaCppRingCells(window: window)
    let lap = position / ring * ring, split = position - lap + 1  // cells below `split` hold this lap
    if cells.lowerBound < split {
        let current = visible((lap + cells.lowerBound)..<(lap + min(cells.upperBound, split)))
        if !current.isEmpty || cells.upperBound <= split { return current }
    }
    return visible((lap - ring + max(cells.lowerBound, split))..<(lap - ring + cells.upperBound))
}

/// Where head `j`'s weighted value sum goes: after its max score and sum in its partial (to be
/// merged), or its output row.
@inline(__always)
private func headDestination(
    _ g: AttentionGeometry, head j: Int, partial: UnsafeMutablePointer<Float>?, output: UnsafeMutablePointer<Float>?,
    max m: Float, sum: Float
) -> UnsafeMutablePointer<Float> {
    if let partial {
        let p = partial + j * (2 + g.valueDim)
        p[0] = m
        p[1] = sum
        return p + 2
    }
    return output.unsafelyUnwrapped + j * g.valueDim
}

/// How attention over an F16 cache rounds.
public enum AttentionPrecision: Sendable {
    /// As llama.cpp's CPU flash attention (ggml `flash_attn_ext` with an F16 cache, x86 AVX2):
    /// the query is rounded to F16 before its dot products with the keys, the softmax runs online
    /// (a running maximum and sum, in key order), and the weighted sum of values is kept in F16,
    /// rounded after every key. The default: on small models these roundings move log-probabilities
    /// by more than 0.05, so matching llama.cpp means rounding where it rounds.
    case llamaCpp
    /// F32 query, two-pass softmax, F32 value sums: more accurate, slightly faster.
    case float32
}

/// The rounding of attention over F16 caches; `STUDIO_ATTENTION=f32` selects `.float32` (for
/// measuring how much the llama.cpp rounding matters).
nonisolated(unsafe) public var attentionPrecision: AttentionPrecision =
    getenv("STUDIO_ATTENTION").map { String(cString: $0) == "f32" } == true ? .float32 : .llamaCpp

struct AttentionGeometry {
    var heads, kvHeads, group, headDim, valueDim, keyStride, valueStride: Int
    var scale: Float
    var isF16: Bool
}

/// The `group` query heads at `q` (consecutive rows of `headDim`) attend to cache rows `range`
/// of `kvHead`. With `output`, writes the normalized result (`group` rows of `valueDim`); with
/// `partial`, writes per head (max score, Σ exp(score - max), Σ exp(score - max) V) for merging.
///
/// The hot spot of long-context decoding: dot products convert F16 keys eight at a time as they
/// go, and each head's weighted sum of values stays in registers, 32 lanes at a time.
@inline(__always)
private func attendPiece(
    _ g: AttentionGeometry, q: UnsafePointer<Float>, keys: UnsafeRawPointer, values: UnsafeRawPointer, kvHead: Int,
    range: Range<Int>, scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>?,
    partial: UnsafeMutablePointer<Float>?
) {
    let n = range.count
    let element = g.isF16 ? 2 : 4
    let keyBase = keys + (range.lowerBound * g.keyStride + kvHead * g.headDim) * element
    let valueBase = values + (range.lowerBound * g.valueStride + kvHead * g.valueDim) * element
    let keyRowBytes = g.keyStride * element, valueRowBytes = g.valueStride * element
    for j in 0..<g.group {
        let scores = scratch + j * n
        let qj = UnsafeRawPointer(q + j * g.headDim)
        // scores[i] = scale * q_j · K[lo + i], four rows at a time (independent FMA chains).
        var i0 = 0
        if g.headDim % 8 == 0 {
            while i0 + 4 <= n {
                let k0 = keyBase + i0 * keyRowBytes
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                var d = 0
                while d < g.headDim {
                    let qv = qj.loadUnaligned(fromByteOffset: d * 4, as: SIMD8<Float>.self)
                    a0.addProduct(qv, load8(k0, d, g.isF16))
                    a1.addProduct(qv, load8(k0 + keyRowBytes, d, g.isF16))
                    a2.addProduct(qv, load8(k0 + 2 * keyRowBytes, d, g.isF16))
                    a3.addProduct(qv, load8(k0 + 3 * keyRowBytes, d, g.isF16))
                    d += 8
                }
                scores[i0] = g.scale * a0.sum()
                scores[i0 + 1] = g.scale * a1.sum()
                scores[i0 + 2] = g.scale * a2.sum()
                scores[i0 + 3] = g.scale * a3.sum()
                i0 += 4
            }
        }
        for i in i0..<n {
            let k = keyBase + i * keyRowBytes
            var s: Float = 0
            for d in 0..<g.headDim { s += q[j * g.headDim + d] * load1(k, d, g.isF16) }
            scores[i] = g.scale * s
        }
        // Unnormalized softmax.
        let (m, sum) = exponentiateScores(scores, count: n)
        let out = headDestination(g, head: j, partial: partial, output: output, max: m, sum: sum)
        if partial == nil && sum > 0 { scale_(scores, scores, 1 / sum, n) }  // normalize the weights up front
        // out = Σ_i weight[i] * V[lo + i], 32 lanes of out in registers at a time.
        var c = 0
        while c < g.valueDim {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            if c + 32 <= g.valueDim {
                for i in 0..<n {
                    let v = valueBase + i * valueRowBytes
                    let w = SIMD8<Float>(repeating: scores[i])
                    a0.addProduct(w, load8(v, c, g.isF16))
                    a1.addProduct(w, load8(v, c + 8, g.isF16))
                    a2.addProduct(w, load8(v, c + 16, g.isF16))
                    a3.addProduct(w, load8(v, c + 24, g.isF16))
                }
                let o = UnsafeMutableRawPointer(out + c)
                o.storeBytes(of: a0, toByteOffset: 0, as: SIMD8<Float>.self)
                o.storeBytes(of: a1, toByteOffset: 32, as: SIMD8<Float>.self)
                o.storeBytes(of: a2, toByteOffset: 64, as: SIMD8<Float>.self)
                o.storeBytes(of: a3, toByteOffset: 96, as: SIMD8<Float>.self)
                c += 32
            } else {
                var acc: Float = 0
                for i in 0..<n { acc += scores[i] * load1(valueBase + i * valueRowBytes, c, g.isF16) }
                out[c] = acc
                c += 1
            }
        }
    }
}

/// `attendPiece` with llama.cpp's roundings (see `AttentionPrecision.llamaCpp`); F16 caches only.
///
/// Per query head: q is rounded to F16; each score is the F16 dot product summed as ggml's AVX2
/// `vec_dot_f16` sums it (four 8-lane FMA chains over 32 elements, then a fixed reduction), times
/// `scale`; the online softmax walks the keys in order, keeping the running maximum M and sum S;
/// the value sum is F16, rescaled by exp(M_old - M) when the maximum grows and then increased by
/// exp(s - M) V with one FMA and a rounding to F16 per key. The result is that sum / S (or, for a
/// piece, M, S and the unnormalized sum).
@inline(__always)
private func attendPieceLlamaCpp(
    _ g: AttentionGeometry, q: UnsafePointer<Float>, keys: UnsafeRawPointer, values: UnsafeRawPointer, kvHead: Int,
    range: Range<Int>, scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>?,
    partial: UnsafeMutablePointer<Float>?
) {
    let n = range.count
    let keyBase = keys + (range.lowerBound * g.keyStride + kvHead * g.headDim) * 2
    let valueBase = values + (range.lowerBound * g.valueStride + kvHead * g.valueDim) * 2
    let keyRowBytes = g.keyStride * 2
    let qh = scratch, rescale = scratch + g.headDim, weight = rescale + n, grew = weight + n
    let blocked = g.headDim & ~31
    // Query heads two at a time share each converted key and value vector; the arithmetic of
    // each head is unchanged (see `attendPairLlamaCpp`).
    var first = 0
    while first + 2 <= g.group {
        attendPairLlamaCpp(g, q: q + first * g.headDim, keyBase: keyBase, valueBase: valueBase, n: n, scratch: scratch,
                           output: output.map { $0 + first * g.valueDim }, partial: partial.map { $0 + first * (2 + g.valueDim) })
        first += 2
    }
    for j in first..<g.group {
        let qj = q + j * g.headDim
        for d in 0..<g.headDim { qh[d] = roundToF16(qj[d]) }
        let rq = UnsafeRawPointer(qh)
        // Scores first (independent of each other, so they pipeline), into `weight`.
        for i in 0..<n {
            let k = keyBase + i * keyRowBytes
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var d = 0
            while d < blocked {
                a0.addProduct(rq.loadUnaligned(fromByteOffset: d * 4, as: SIMD8<Float>.self), load8(k, d, true))
                a1.addProduct(rq.loadUnaligned(fromByteOffset: (d + 8) * 4, as: SIMD8<Float>.self), load8(k, d + 8, true))
                a2.addProduct(rq.loadUnaligned(fromByteOffset: (d + 16) * 4, as: SIMD8<Float>.self), load8(k, d + 16, true))
                a3.addProduct(rq.loadUnaligned(fromByteOffset: (d + 24) * 4, as: SIMD8<Float>.self), load8(k, d + 24, true))
                d += 32
            }
            a0 += a2
            a1 += a3
            a0 += a1
            let h = a0.lowHalf + a0.highHalf
            var dot = Double((h[0] + h[1]) + (h[2] + h[3]))
            while d < g.headDim { dot += Double(qh[d] * load1(k, d, true)); d += 1 }
            weight[i] = Float(dot) * g.scale
        }
        // The online softmax's running maximum and sum, in key order.
        let (m, sum) = onlineSoftmax(weight, rescale: rescale, grew: grew, count: n)
        // out = Σ in F16 (ck_f16_value_sum).
        let out = headDestination(g, head: j, partial: partial, output: output, max: m, sum: sum)
        let norm: Float = partial != nil ? 1 : (sum == 0 ? 0 : 1 / sum)
        f16ValueSum(n: n, values: valueBase, stride: g.valueStride, lanes: g.valueDim, (weight, rescale, grew, norm, out), nil)
    }
}

/// The online softmax of llama.cpp's flash attention over the scores in `weight` (key order):
/// afterwards `weight[i]` is exp(s_i - M_i), `rescale[i]` exp(M_old - M_i) when the maximum
/// grew at key i (`grew[i]` = 1) and 1 otherwise. Returns the final maximum and sum.
@inline(__always)
private func onlineSoftmax(_ weight: UnsafeMutablePointer<Float>, rescale: UnsafeMutablePointer<Float>,
                           grew: UnsafeMutablePointer<Float>, count n: Int) -> (max: Float, sum: Float) {
    var m = -Float.infinity, sum: Float = 0
    onlineSoftmaxStep(weight, rescale: rescale, grew: grew, range: 0..<n, max: &m, sum: &sum)
    return (m, sum)
}

/// `onlineSoftmax` over `range` of the arrays, continuing from the running maximum and sum of
/// the keys before it.
@inline(__always)
func onlineSoftmaxStep(_ weight: UnsafeMutablePointer<Float>, rescale: UnsafeMutablePointer<Float>,
                       grew: UnsafeMutablePointer<Float>, range: Range<Int>, max m: inout Float, sum: inout Float) {
    for i in range {
        let s = weight[i]
        if s > m {
            rescale[i] = expf(m - s)
            weight[i] = 1
            grew[i] = 1
            m = s
        } else {
            rescale[i] = 1
            weight[i] = expf(s - m)
            grew[i] = 0
        }
        sum = weight[i].addingProduct(sum, rescale[i])
    }
}

/// Two query heads (rows `q` and `q + headDim`) of `attendPieceLlamaCpp` in one pass over the
/// keys and values: each F16 key and value vector is converted once for both. Per head the
/// operations and their order are exactly those of the one-head loop, so the results are
/// bit-identical.
/// Scratch: 2 * (headDim + 3n) floats.
@inline(__always)
private func attendPairLlamaCpp(
    _ g: AttentionGeometry, q: UnsafePointer<Float>, keyBase: UnsafeRawPointer, valueBase: UnsafeRawPointer, n: Int,
    scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>?, partial: UnsafeMutablePointer<Float>?
) {
    let keyRowBytes = g.keyStride * 2
    let qh0 = scratch, qh1 = scratch + g.headDim
    let rescale0 = qh1 + g.headDim, weight0 = rescale0 + n, grew0 = weight0 + n
    let rescale1 = grew0 + n, weight1 = rescale1 + n, grew1 = weight1 + n
    for d in 0..<g.headDim {
        qh0[d] = roundToF16(q[d])
        qh1[d] = roundToF16(q[g.headDim + d])
    }
    let rq0 = UnsafeRawPointer(qh0), rq1 = UnsafeRawPointer(qh1)
    let blocked = g.headDim & ~31
    for i in 0..<n {
        let k = keyBase + i * keyRowBytes
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
        var d = 0
        while d < blocked {
            let k0 = load8(k, d, true), k1 = load8(k, d + 8, true), k2 = load8(k, d + 16, true), k3 = load8(k, d + 24, true)
            a0.addProduct(rq0.loadUnaligned(fromByteOffset: d * 4, as: SIMD8<Float>.self), k0)
            a1.addProduct(rq0.loadUnaligned(fromByteOffset: (d + 8) * 4, as: SIMD8<Float>.self), k1)
            a2.addProduct(rq0.loadUnaligned(fromByteOffset: (d + 16) * 4, as: SIMD8<Float>.self), k2)
            a3.addProduct(rq0.loadUnaligned(fromByteOffset: (d + 24) * 4, as: SIMD8<Float>.self), k3)
            b0.addProduct(rq1.loadUnaligned(fromByteOffset: d * 4, as: SIMD8<Float>.self), k0)
            b1.addProduct(rq1.loadUnaligned(fromByteOffset: (d + 8) * 4, as: SIMD8<Float>.self), k1)
            b2.addProduct(rq1.loadUnaligned(fromByteOffset: (d + 16) * 4, as: SIMD8<Float>.self), k2)
            b3.addProduct(rq1.loadUnaligned(fromByteOffset: (d + 24) * 4, as: SIMD8<Float>.self), k3)
            d += 32
        }
        a0 += a2
        a1 += a3
        a0 += a1
        b0 += b2
        b1 += b3
        b0 += b1
        let ha = a0.lowHalf + a0.highHalf, hb = b0.lowHalf + b0.highHalf
        var dotA = Double((ha[0] + ha[1]) + (ha[2] + ha[3]))
        var dotB = Double((hb[0] + hb[1]) + (hb[2] + hb[3]))
        while d < g.headDim {
            let kd = load1(k, d, true)
            dotA += Double(qh0[d] * kd)
            dotB += Double(qh1[d] * kd)
            d += 1
        }
        weight0[i] = Float(dotA) * g.scale
        weight1[i] = Float(dotB) * g.scale
    }
    let (m0, sum0) = onlineSoftmax(weight0, rescale: rescale0, grew: grew0, count: n)
    let (m1, sum1) = onlineSoftmax(weight1, rescale: rescale1, grew: grew1, count: n)
    let out0: UnsafeMutablePointer<Float>, out1: UnsafeMutablePointer<Float>
    if let partial {
        let p0 = partial, p1 = partial + (2 + g.valueDim)
        p0[0] = m0
        p0[1] = sum0
        p1[0] = m1
        p1[1] = sum1
        out0 = p0 + 2
        out1 = p1 + 2
    } else {
        out0 = output!
        out1 = output! + g.valueDim
    }
    let norm0: Float = partial != nil ? 1 : (sum0 == 0 ? 0 : 1 / sum0)
    let norm1: Float = partial != nil ? 1 : (sum1 == 0 ? 0 : 1 / sum1)
    f16ValueSum(n: n, values: valueBase, stride: g.valueStride, lanes: g.valueDim,
                (weight0, rescale0, grew0, norm0, out0), (weight1, rescale1, grew1, norm1, out1))
}

/// One head's part of a value sum: weights, rescale factors, grew flags, final factor, output.
private typealias ValueSumHead = (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
                                  Float, UnsafeMutablePointer<Float>)

/// The F16-rounded value sum of one or two heads over the same `n` value rows
/// (`ck_f16_value_sum`), with its pointer tables on the stack.
@inline(__always)
private func f16ValueSum(n: Int, values: UnsafeRawPointer, stride: Int, lanes: Int, _ first: ValueSumHead, _ second: ValueSumHead?) {
    let heads = second == nil ? 1 : 2
    withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: 6) { tables in
        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>?.self, capacity: 2) { outs in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2) { norms in
                let t = tables.baseAddress!
                t[0] = UnsafePointer(first.0); t[2] = UnsafePointer(first.1); t[4] = UnsafePointer(first.2)
                norms[0] = first.3
                outs[0] = first.4
                if let second {
                    t[1] = UnsafePointer(second.0); t[3] = UnsafePointer(second.1); t[5] = UnsafePointer(second.2)
                    norms[1] = second.3
                    outs[1] = second.4
                } else {
                    t[1] = nil; t[3] = nil; t[5] = nil
                    norms[1] = 0
                    outs[1] = nil
                }
                ck_f16_value_sum(Int64(n), values.assumingMemoryBound(to: UInt16.self), stride, Int64(lanes), Int32(heads),
                                 t, t + 2, t + 4, norms.baseAddress!, outs.baseAddress!)
            }
        }
    }
}

/// x rounded to the nearest F16 value (ties to even), as Float.
@inline(__always)
private func roundToF16(_ x: Float) -> Float {
    fp16ToFloat(floatToFp16(x))
}

/// Eight cache elements from `row` starting at element `index`, as Float.
@inline(__always)
private func load8(_ row: UnsafeRawPointer, _ index: Int, _ isF16: Bool) -> SIMD8<Float> {
    if isF16 {
        #if !(arch(x86_64) && os(macOS))
        return SIMD8<Float>(row.loadUnaligned(fromByteOffset: index * 2, as: SIMD8<Float16>.self))
        #else
        let h = row.loadUnaligned(fromByteOffset: index * 2, as: SIMD8<UInt16>.self)
        var f = SIMD8<Float>()
        for l in 0..<8 { f[l] = fp16ToFloat(h[l]) }
        return f
        #endif
    }
    return row.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
}

@inline(__always)
private func load1(_ row: UnsafeRawPointer, _ index: Int, _ isF16: Bool) -> Float {
    isF16 ? fp16ToFloat(row.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self))
        : row.loadUnaligned(fromByteOffset: index * 4, as: Float.self)
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

/// Replaces `scores[0..<n]` by `exp(score - max)` (8 lanes at a time, then one by one) and
/// returns the max and the sum of the exponentials: the unnormalized softmax of the F32 paths.
@inline(__always)
func exponentiateScores(_ scores: UnsafeMutablePointer<Float>, count n: Int) -> (max: Float, sum: Float) {
    var m = -Float.infinity
    for i in 0..<n where scores[i] > m { m = scores[i] }
    var sum: Float = 0
    var i = 0
    let r = UnsafeMutableRawPointer(scores)
    while i + 8 <= n {
        let e = simdExp(r.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - SIMD8(repeating: m))
        r.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
        sum += e.sum()
        i += 8
    }
    while i < n { scores[i] = expf(scores[i] - m); sum += scores[i]; i += 1 }
    return (m, sum)
}
