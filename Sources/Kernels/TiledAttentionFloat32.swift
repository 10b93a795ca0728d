import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Tiled prefill in `.float32` precision or over an F32 cache: the arithmetic of the row path
/// (`attendPiece`: one 8-lane FMA chain per key score, a row's last `span % 4` keys summed one
/// element at a time, a two-pass softmax, normalized weights times values), with each block of
/// keys and values read (and converted from F16) once per tile. A row needs all its scores before
/// its softmax, so a tile walks the cache twice: keys, then values.
func tiledPrefillAttentionFloat32(
    _ g: AttentionGeometry, tiling: AttentionTiling, output: UnsafeMutablePointer<Float>, queries: UnsafePointer<Float>,
    batch: Int, firstPosition: Int, keys: UnsafeRawPointer, values: UnsafeRawPointer, window: Int?, pool: ThreadPool
) {
    let longestSpan = window.map { min($0, firstPosition + batch) } ?? (firstPosition + batch)
    // Four items per thread where the batch allows; a tile's scores at most 4 Mi floats.
    var positions = max(1, min(tiling.positions, batch * g.kvHeads / (4 * pool.threads)))
    positions = max(1, min(positions, (1 << 22) / (g.group * longestSpan)))
    let tiles = (batch + positions - 1) / positions
    let layout = Float32TileScratch(
        rows: positions * g.group, span: longestSpan, blockKeys: tiling.keys, headDim: g.headDim, valueDim: g.valueDim,
        converts: g.isF16)
    pool.workspace.withBuffer(bytes: pool.threads * layout.bytes) { raw in
        let job = Float32TileJob(
            geometry: g, output: output, queries: queries, keys: keys, values: values, batch: batch,
            firstPosition: firstPosition, window: window, positions: positions, tiles: tiles, blockKeys: tiling.keys,
            layout: layout, scratch: raw)
        pool.parallelFor(tiles * g.kvHeads, job: job)
    }
}

/// Per-thread scratch of a `.float32` tile, in floats, each region 64-byte aligned: every row's
/// scores over its span, the value accumulators, and (F16 caches) a block of keys or values in F32.
struct Float32TileScratch {
    let span, scores, accumulators, block, floats: Int
    var bytes: Int { floats * 4 }

    init(rows: Int, span: Int, blockKeys: Int, headDim: Int, valueDim: Int, converts: Bool) {
        self.span = span
        var regions = ScratchRegions()
        func region(_ count: Int) -> Int { regions.take(count) }
        scores = region(rows * span)
        accumulators = region(rows * valueDim)
        block = region(converts ? blockKeys * max(headDim, valueDim) : 0)
        floats = regions.floats
    }
}

private struct Float32TileJob: TiledAttentionJob {
    let geometry: AttentionGeometry
    let output: UnsafeMutablePointer<Float>
    let queries: UnsafePointer<Float>
    let keys: UnsafeRawPointer, values: UnsafeRawPointer
    let batch, firstPosition: Int, window: Int?
    let positions, tiles, blockKeys: Int
    let layout: Float32TileScratch
    let scratch: UnsafeMutableRawPointer
    var scratchBytes: Int { layout.bytes }

    /// Rows `from..<to` (cache positions) of `kvHead`'s keys or values, `width` wide, as F32 rows:
    /// the cache itself (F32) or a converted copy in the scratch block (F16). Returns the first
    /// row and the row stride in floats.
    @inline(__always)
    func block(_ cache: UnsafeRawPointer, rows from: Int, _ to: Int, width: Int, stride: Int, kvHead: Int,
               scratch: UnsafeMutablePointer<Float>) -> (UnsafePointer<Float>, Int) {
        let offset = from * stride + kvHead * width
        if !geometry.isF16 { return (cache.assumingMemoryBound(to: Float.self) + offset, stride) }
        let converted = scratch + layout.block
        ck_f16_rows_to_f32(Int64(to - from), Int64(width), cache.assumingMemoryBound(to: UInt16.self) + offset, stride,
                           converted, width)
        return (UnsafePointer(converted), width)
    }

    @inline(__always)
    func attendTile(kvHead: Int, tokens: Range<Int>, scratch s: UnsafeMutablePointer<Float>) {
        let g = geometry, span = layout.span
        let scores = s + layout.scores, acc = s + layout.accumulators
        let keyStart = firstKey(firstPosition + tokens.lowerBound), keyEnd = firstPosition + tokens.upperBound

        // Scores: row r's key at position `first + i` goes to scores[r * span + i].
        var blockStart = keyStart
        while blockStart < keyEnd {
            let blockEnd = min(keyEnd, blockStart + blockKeys)
            let (kb, kStride) = block(keys, rows: blockStart, blockEnd, width: g.headDim, stride: g.keyStride, kvHead: kvHead, scratch: s)
            for (t, b) in tokens.enumerated() {
                let position = firstPosition + b, first = firstKey(position)
                let from = max(first, blockStart), to = min(position + 1, blockEnd)
                if from >= to { continue }
                let simdLimit = g.headDim % 8 == 0 ? (position - first + 1) & ~3 : 0
                for j in 0..<g.group {
                    let q = queries + b * g.heads * g.headDim + (kvHead * g.group + j) * g.headDim
                    let rq = UnsafeRawPointer(q)
                    let rowScores = scores + (t * g.group + j) * span
                    var key = from
                    // Four keys at a time (independent chains), as the row path does.
                    while key + 4 <= to && key + 4 - first <= simdLimit {
                        let k0 = UnsafeRawPointer(kb + (key - blockStart) * kStride), row = kStride * 4
                        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                        var d = 0
                        while d < g.headDim {
                            let qv = rq.loadUnaligned(fromByteOffset: d * 4, as: SIMD8<Float>.self)
                            a0.addProduct(qv, k0.loadUnaligned(fromByteOffset: d * 4, as: SIMD8<Float>.self))
                            a1.addProduct(qv, k0.loadUnaligned(fromByteOffset: row + d * 4, as: SIMD8<Float>.self))
                            a2.addProduct(qv, k0.loadUnaligned(fromByteOffset: 2 * row + d * 4, as: SIMD8<Float>.self))
                            a3.addProduct(qv, k0.loadUnaligned(fromByteOffset: 3 * row + d * 4, as: SIMD8<Float>.self))
                            d += 8
                        }
                        let i = key - first
                        rowScores[i] = g.scale * a0.sum()
                        rowScores[i + 1] = g.scale * a1.sum()
                        rowScores[i + 2] = g.scale * a2.sum()
                        rowScores[i + 3] = g.scale * a3.sum()
                        key += 4
                    }
                    for key in key..<to {
                        let k = kb + (key - blockStart) * kStride
                        let i = key - first
                        if i < simdLimit {
                            let rk = UnsafeRawPointer(k)
                            var a0 = SIMD8<Float>()
                            var d = 0
                            while d < g.headDim {
                                a0.addProduct(rq.loadUnaligned(fromByteOffset: d * 4, as: SIMD8<Float>.self),
                                              rk.loadUnaligned(fromByteOffset: d * 4, as: SIMD8<Float>.self))
                                d += 8
                            }
                            rowScores[i] = g.scale * a0.sum()
                        } else {
                            var sum: Float = 0
                            for d in 0..<g.headDim { sum += q[d] * k[d] }
                            rowScores[i] = g.scale * sum
                        }
                    }
                }
            }
            blockStart = blockEnd
        }

        // Softmax per row, as `attendPiece`: maximum, exponentials (eight at a time, then one at a
        // time), sum, normalized weights.
        for (t, b) in tokens.enumerated() {
            let position = firstPosition + b, n = position - firstKey(position) + 1
            for j in 0..<g.group {
                let w = scores + (t * g.group + j) * span
                let sum = exponentiateScores(w, count: n).sum
                if sum > 0 { scale_(w, w, 1 / sum, n) }
            }
        }

        // Values: per lane, Σ weight * V in key order, 32 lanes with SIMD chains, the rest one lane
        // at a time; the sums wait in `acc` between blocks.
        let rows = tokens.count * g.group
        acc.update(repeating: 0, count: rows * g.valueDim)
        let chunked = g.valueDim & ~31
        blockStart = keyStart
        while blockStart < keyEnd {
            let blockEnd = min(keyEnd, blockStart + blockKeys)
            let (vb, vStride) = block(values, rows: blockStart, blockEnd, width: g.valueDim, stride: g.valueStride, kvHead: kvHead, scratch: s)
            for (t, b) in tokens.enumerated() {
                let position = firstPosition + b, first = firstKey(position)
                let from = max(first, blockStart), to = min(position + 1, blockEnd)
                if from >= to { continue }
                for j in 0..<g.group {
                    let r = t * g.group + j
                    let w = scores + r * span, a = acc + r * g.valueDim
                    var c = 0
                    while c < chunked {
                        let ra = UnsafeMutableRawPointer(a + c)
                        var a0 = ra.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self)
                        var a1 = ra.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                        var a2 = ra.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
                        var a3 = ra.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
                        for key in from..<to {
                            let v = UnsafeRawPointer(vb + (key - blockStart) * vStride + c)
                            let weight = SIMD8<Float>(repeating: w[key - first])
                            a0.addProduct(weight, v.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self))
                            a1.addProduct(weight, v.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
                            a2.addProduct(weight, v.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
                            a3.addProduct(weight, v.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
                        }
                        ra.storeBytes(of: a0, toByteOffset: 0, as: SIMD8<Float>.self)
                        ra.storeBytes(of: a1, toByteOffset: 32, as: SIMD8<Float>.self)
                        ra.storeBytes(of: a2, toByteOffset: 64, as: SIMD8<Float>.self)
                        ra.storeBytes(of: a3, toByteOffset: 96, as: SIMD8<Float>.self)
                        c += 32
                    }
                    for c in chunked..<g.valueDim {
                        var lane = a[c]
                        for key in from..<to { lane += w[key - first] * vb[(key - blockStart) * vStride + c] }
                        a[c] = lane
                    }
                }
            }
            blockStart = blockEnd
        }
        for (t, b) in tokens.enumerated() {
            let out = output + b * g.heads * g.valueDim + kvHead * g.group * g.valueDim
            out.update(from: acc + t * g.group * g.valueDim, count: g.group * g.valueDim)
        }
    }
}
