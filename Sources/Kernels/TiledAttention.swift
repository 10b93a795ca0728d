import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How prefill attention groups its rows.
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

    /// Both are clamped to 1...4096 (the scratch grows with their product).
    public init(positions: Int, keys: Int) {
        self.positions = min(max(1, positions), 4096)
        self.keys = min(max(1, keys), 4096)
    }

    /// Each (token, KV head) walks the cache on its own.
    public static let rowAtATime = AttentionTiling(positions: 1, keys: 1)
    /// Chosen by measurement on Qwen2.5 0.5B, SmolLM2 135M and Gemma3 270M (Benchmarks/README.md).
    public static let standard = AttentionTiling(positions: 16, keys: 32)
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
        var regions = ScratchRegions()
        func region(_ count: Int) -> Int { regions.take(count) }
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
        floats = regions.floats
    }
}

/// Offsets (in floats) of regions carved one after another from a scratch buffer, each starting
/// on a 64-byte boundary.
struct ScratchRegions {
    private(set) var floats = 0

    mutating func take(_ count: Int) -> Int {
        defer { floats += (count + 15) & ~15 }
        return floats
    }
}

/// A tiled prefill job: its items are (tile, KV head), the latest (longest) tiles first; each
/// thread works in its own slice of the scratch.
protocol TiledAttentionJob: ParallelJob {
    var geometry: AttentionGeometry { get }
    var batch: Int { get }
    var window: Int? { get }
    var positions: Int { get }
    var tiles: Int { get }
    var scratch: UnsafeMutableRawPointer { get }
    /// Scratch bytes of one thread.
    var scratchBytes: Int { get }
    func attendTile(kvHead: Int, tokens: Range<Int>, scratch: UnsafeMutablePointer<Float>)
}

extension TiledAttentionJob {
    @inline(__always)
    func run(_ start: Int, _ end: Int, _ thread: Int) {
        let base = (scratch + thread * scratchBytes).assumingMemoryBound(to: Float.self)
        for item in start..<end {
            let tile = tiles - 1 - item / geometry.kvHeads, kvHead = item % geometry.kvHeads
            let first = tile * positions
            attendTile(kvHead: kvHead, tokens: first..<min(batch, first + positions), scratch: base)
        }
    }

    /// The first key position `position` sees.
    @inline(__always)
    func firstKey(_ position: Int) -> Int { window.map { max(0, position - $0 + 1) } ?? 0 }

    /// Each row's value sum divided by its softmax sum (as a multiplication by the inverse; 0
    /// where the row saw nothing), into the output rows of the tile's tokens and KV head.
    @inline(__always)
    func writeNormalized(tokens: Range<Int>, kvHead: Int, accumulators acc: UnsafePointer<Float>, sums: UnsafePointer<Float>,
                         into output: UnsafeMutablePointer<Float>) {
        let g = geometry
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

private struct TiledPrefillJob: TiledAttentionJob {
    let geometry: AttentionGeometry
    let output: UnsafeMutablePointer<Float>
    let queries: UnsafePointer<Float>
    let keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>
    let batch, firstPosition: Int, window: Int?
    let positions, tiles, blockKeys: Int
    let layout: TileScratch
    let scratch: UnsafeMutableRawPointer
    var scratchBytes: Int { layout.bytes }

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

        let runs = llamaCppKeyRuns(firstKey(firstPosition + tokens.lowerBound), firstPosition + tokens.upperBound, window: window)
        for run in [runs.first, runs.second] {
            var blockStart = run.lowerBound
            while blockStart < run.upperBound {
                let blockEnd = min(run.upperBound, blockStart + L.blockKeys), n = blockEnd - blockStart
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
                    for r in row0..<(row0 + g.group) {
                        ck_f16_attention_scores(Int64(g.headDim), qh + r * g.headDim, kf, g.headDim, Int64(range.lowerBound),
                                                Int64(range.upperBound), g.scale, weight + r * L.blockKeys)
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
        }

        writeNormalized(tokens: tokens, kvHead: kvHead, accumulators: acc, sums: sums, into: output)
    }
}
