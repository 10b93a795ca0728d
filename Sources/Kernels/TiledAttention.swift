import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How prefill attention over an F16 cache with llama.cpp's roundings groups its rows.
///
/// A tile is every query head of one KV head at `positions` consecutive positions; it walks the
/// cache in blocks of `keys` keys, converting each block of keys and values to F32 once for all
/// its rows, where a row alone would convert (and read) the whole prefix itself. Per row, the
/// keys are visited in the same order with the same arithmetic, so the results do not depend on
/// the tiling.
public struct AttentionTiling: Sendable, Equatable {
    /// Query positions per tile; 1 runs each (token, KV head) on its own (the decode path).
    public var positions: Int
    /// Keys per block.
    public var keys: Int

    public init(positions: Int, keys: Int) {
        self.positions = max(1, positions)
        self.keys = max(1, keys)
    }

    /// Each (token, KV head) walks the cache on its own.
    public static let rowAtATime = AttentionTiling(positions: 1, keys: 1)
    /// Chosen by measurement on Qwen2.5 0.5B, SmolLM2 135M and Gemma3 270M (Benchmarks/README.md).
    public static let standard = AttentionTiling(positions: 8, keys: 64)
}

/// Runs a prefill batch as (KV head, tile) items, the latest tiles (the most keys) first so the
/// threads finish together. Requires an F16 cache, `.llamaCpp` precision and whole spans (no pieces).
func tiledPrefillAttention(
    _ g: AttentionGeometry, tiling: AttentionTiling, output: UnsafeMutablePointer<Float>, queries: UnsafePointer<Float>,
    batch: Int, firstPosition: Int, keys: UnsafeRawPointer, values: UnsafeRawPointer, window: Int?, pool: ThreadPool
) {
    // Enough items for four per thread where the batch allows, so no thread waits on the last.
    let positions = max(1, min(tiling.positions, batch * g.kvHeads / (4 * pool.threads)))
    let tiles = (batch + positions - 1) / positions
    let layout = TileScratch(rows: positions * g.group, blockKeys: tiling.keys, headDim: g.headDim, valueDim: g.valueDim)
    pool.workspace.withBuffer(bytes: pool.threads * layout.bytes) { raw in
        let job = TiledPrefillJob(
            geometry: g, output: output, queries: queries,
            keys: keys.assumingMemoryBound(to: UInt16.self), values: values.assumingMemoryBound(to: UInt16.self),
            batch: batch, firstPosition: firstPosition, window: window, positions: positions, tiles: tiles,
            blockKeys: tiling.keys, layout: layout, scratch: raw)
        pool.parallelFor(tiles * g.kvHeads, job: job)
    }
}

/// Per-thread scratch of one tile: F16-rounded queries, accumulators, running max and sum, key
/// ranges, the current block of keys and values in F32, and the block's weights, rescale factors
/// and grew flags per row. Offsets in floats, each region 64-byte aligned.
struct TileScratch {
    let rows, blockKeys: Int
    let queries, accumulators, maxima, sums, ranges, keyBlock, valueBlock, weights, rescales, grews: Int
    let floats: Int
    var bytes: Int { floats * 4 }

    init(rows: Int, blockKeys: Int, headDim: Int, valueDim: Int) {
        self.rows = rows
        self.blockKeys = blockKeys
        var offset = 0
        func region(_ count: Int) -> Int {
            defer { offset += (count + 15) & ~15 }
            return offset
        }
        queries = region(rows * headDim)
        accumulators = region(rows * valueDim)
        maxima = region(rows)
        sums = region(rows)
        ranges = region(2 * rows)  // Int32 lower bounds, then upper bounds
        keyBlock = region(blockKeys * headDim)
        valueBlock = region(blockKeys * valueDim)
        weights = region(rows * blockKeys)
        rescales = region(rows * blockKeys)
        grews = region(rows * blockKeys)
        floats = offset
    }
}

private struct TiledPrefillJob: ParallelJob {
    let geometry: AttentionGeometry
    let output: UnsafeMutablePointer<Float>
    let queries: UnsafePointer<Float>
    let keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>
    let batch, firstPosition: Int, window: Int?
    let positions, tiles, blockKeys: Int
    let layout: TileScratch
    let scratch: UnsafeMutableRawPointer

    func run(_ start: Int, _ end: Int, _ thread: Int) {
        let base = (scratch + thread * layout.bytes).assumingMemoryBound(to: Float.self)
        for item in start..<end {
            let tile = tiles - 1 - item / geometry.kvHeads, kvHead = item % geometry.kvHeads
            let first = tile * positions
            attendTile(kvHead: kvHead, tokens: first..<min(batch, first + positions), scratch: base)
        }
    }

    /// The first key position `position` sees.
    @inline(__always)
    func firstKey(_ position: Int) -> Int { window.map { max(0, position - $0 + 1) } ?? 0 }

    @inline(__always)
    func attendTile(kvHead: Int, tokens: Range<Int>, scratch s: UnsafeMutablePointer<Float>) {
        let g = geometry, L = layout
        let rows = tokens.count * g.group
        let qh = s + L.queries, acc = s + L.accumulators, maxima = s + L.maxima, sums = s + L.sums
        let lo = UnsafeMutableRawPointer(s + L.ranges).assumingMemoryBound(to: Int32.self), hi = lo + rows
        let kf = s + L.keyBlock, vf = s + L.valueBlock
        let weight = s + L.weights, rescale = s + L.rescales, grew = s + L.grews
        for (t, b) in tokens.enumerated() {
            let q = queries + b * g.heads * g.headDim + kvHead * g.group * g.headDim
            let rq = qh + t * g.group * g.headDim
            for d in 0..<(g.group * g.headDim) { rq[d] = fp16ToFloat(floatToFp16(q[d])) }
        }
        acc.update(repeating: 0, count: rows * g.valueDim)
        maxima.update(repeating: -.infinity, count: rows)
        sums.update(repeating: 0, count: rows)

        let keyStart = firstKey(firstPosition + tokens.lowerBound), keyEnd = firstPosition + tokens.upperBound
        var blockStart = keyStart
        while blockStart < keyEnd {
            let blockEnd = min(keyEnd, blockStart + L.blockKeys), n = blockEnd - blockStart
            ck_f16_rows_to_f32(Int64(n), Int64(g.headDim), keys + blockStart * g.keyStride + kvHead * g.headDim, g.keyStride,
                               kf, g.headDim)
            ck_f16_rows_to_f32(Int64(n), Int64(g.valueDim), values + blockStart * g.valueStride + kvHead * g.valueDim,
                               g.valueStride, vf, g.valueDim)
            for (t, b) in tokens.enumerated() {
                let position = firstPosition + b
                let from = max(firstKey(position), blockStart) - blockStart, to = min(position + 1, blockEnd) - blockStart
                let range = from < to ? from..<to : 0..<0
                let row0 = t * g.group
                for r in row0..<(row0 + g.group) {
                    lo[r] = Int32(range.lowerBound)
                    hi[r] = Int32(range.upperBound)
                }
                if range.isEmpty { continue }
                var j = 0
                while j + 2 <= g.group {
                    let r = row0 + j
                    tileScores(g, qh + r * g.headDim, qh + (r + 1) * g.headDim, keys: kf, range: range,
                               weight + r * L.blockKeys, weight + (r + 1) * L.blockKeys)
                    j += 2
                }
                if j < g.group {
                    let r = row0 + j
                    tileScores(g, qh + r * g.headDim, nil, keys: kf, range: range, weight + r * L.blockKeys, nil)
                }
                for r in row0..<(row0 + g.group) {
                    onlineSoftmaxStep(weight + r * L.blockKeys, rescale: rescale + r * L.blockKeys, grew: grew + r * L.blockKeys,
                                      range: range, max: &maxima[r], sum: &sums[r])
                }
            }
            ck_f16_tile_value_sum(Int64(rows), Int64(g.valueDim), vf, g.valueDim, lo, hi, weight, rescale, grew, L.blockKeys,
                                  acc, g.valueDim)
            blockStart = blockEnd
        }

        for (t, b) in tokens.enumerated() {
            for j in 0..<g.group {
                let r = t * g.group + j
                let out = output + b * g.heads * g.valueDim + (kvHead * g.group + j) * g.valueDim
                let a = acc + r * g.valueDim
                let norm: Float = sums[r] == 0 ? 0 : 1 / sums[r]
                for c in 0..<g.valueDim { out[c] = a[c] * norm }
            }
        }
    }
}

/// Scores of one or two F16-rounded query rows against F32 keys `range` of a block (row i at
/// `keys + i * headDim`), into `weight0[i]` (and `weight1[i]`): the sums of
/// `attendPieceLlamaCpp` (four 8-lane FMA chains over each 32 elements, a fixed reduction, the
/// remaining elements added in Double), times the scale.
@inline(__always)
private func tileScores(
    _ g: AttentionGeometry, _ q0: UnsafePointer<Float>, _ q1: UnsafePointer<Float>?, keys: UnsafePointer<Float>, range: Range<Int>,
    _ weight0: UnsafeMutablePointer<Float>, _ weight1: UnsafeMutablePointer<Float>?
) {
    let blocked = g.headDim & ~31
    let rq0 = UnsafeRawPointer(q0)
    if let q1, let weight1 {
        let rq1 = UnsafeRawPointer(q1)
        for i in range {
            let k = UnsafeRawPointer(keys + i * g.headDim)
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
            var d = 0
            while d < blocked {
                let k0 = k.loadUnaligned(fromByteOffset: d * 4, as: SIMD8<Float>.self)
                let k1 = k.loadUnaligned(fromByteOffset: (d + 8) * 4, as: SIMD8<Float>.self)
                let k2 = k.loadUnaligned(fromByteOffset: (d + 16) * 4, as: SIMD8<Float>.self)
                let k3 = k.loadUnaligned(fromByteOffset: (d + 24) * 4, as: SIMD8<Float>.self)
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
                let kd = keys[i * g.headDim + d]
                dotA += Double(q0[d] * kd)
                dotB += Double(q1[d] * kd)
                d += 1
            }
            weight0[i] = Float(dotA) * g.scale
            weight1[i] = Float(dotB) * g.scale
        }
        return
    }
    for i in range {
        let k = UnsafeRawPointer(keys + i * g.headDim)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var d = 0
        while d < blocked {
            a0.addProduct(rq0.loadUnaligned(fromByteOffset: d * 4, as: SIMD8<Float>.self), k.loadUnaligned(fromByteOffset: d * 4, as: SIMD8<Float>.self))
            a1.addProduct(rq0.loadUnaligned(fromByteOffset: (d + 8) * 4, as: SIMD8<Float>.self), k.loadUnaligned(fromByteOffset: (d + 8) * 4, as: SIMD8<Float>.self))
            a2.addProduct(rq0.loadUnaligned(fromByteOffset: (d + 16) * 4, as: SIMD8<Float>.self), k.loadUnaligned(fromByteOffset: (d + 16) * 4, as: SIMD8<Float>.self))
            a3.addProduct(rq0.loadUnaligned(fromByteOffset: (d + 24) * 4, as: SIMD8<Float>.self), k.loadUnaligned(fromByteOffset: (d + 24) * 4, as: SIMD8<Float>.self))
            d += 32
        }
        a0 += a2
        a1 += a3
        a0 += a1
        let h = a0.lowHalf + a0.highHalf
        var dot = Double((h[0] + h[1]) + (h[2] + h[3]))
        while d < g.headDim { dot += Double(q0[d] * keys[i * g.headDim + d]); d += 1 }
        weight0[i] = Float(dot) * g.scale
    }
}
