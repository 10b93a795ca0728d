import CKernels

/// From how many query rows in one step llama.cpp's CPU flash attention runs its tiled kernel
/// (`attention(stepRows:)` switches to `blockPrefillAttention` there, F16 caches, `.llamaCpp`).
public let llamaCppBlockAttentionMinimumRows = 64

/// Prefill attention as llama.cpp's tiled flash attention computes it: per query row, the cache in
/// blocks of 64 keys aligned to position 0; within a block, F32 scores (one FMA chain over the head
/// dimension, F32 query, keys converted from F16), the block's maximum folded into the running
/// maximum, weights from llama.cpp's vectorized exp and an F32 value sum (`ck_attention_block64_heads`).
/// Unlike the smaller-batch path nothing is rounded to F16, so the two differ in the last bits:
/// which one runs depends on how many rows llama.cpp would evaluate together, not on our tiling.
func blockPrefillAttention(
    _ g: AttentionGeometry, output: UnsafeMutablePointer<Float>, queries: UnsafePointer<Float>,
    batch: Int, firstPosition: Int, keys: UnsafeRawPointer, values: UnsafeRawPointer, window: Int?, pool: ThreadPool
) {
    // Enough items for four per thread where the batch allows, at most 16 positions per tile.
    let positions = max(1, min(16, batch * g.kvHeads / (4 * pool.threads)))
    let tiles = (batch + positions - 1) / positions
    let layout = BlockTileScratch(rows: positions * g.group, headDim: g.headDim, valueDim: g.valueDim)
    pool.workspace.withBuffer(bytes: pool.threads * layout.bytes) { raw in
        let job = BlockTileJob(
            geometry: g, output: output, queries: queries,
            keys: keys.assumingMemoryBound(to: UInt16.self), values: values.assumingMemoryBound(to: UInt16.self),
            batch: batch, firstPosition: firstPosition, window: window, positions: positions, tiles: tiles,
            layout: layout, scratch: raw)
        pool.parallelFor(tiles * g.kvHeads, job: job)
    }
}

/// Per-thread scratch of one tile, in floats: value accumulators, running maxima and sums of its
/// rows, and the current block of keys (transposed) and values in F32.
struct BlockTileScratch {
    static let blockKeys = 64
    let accumulators, maxima, sums, keyBlock, valueBlock, floats: Int
    var bytes: Int { floats * 4 }

    init(rows: Int, headDim: Int, valueDim: Int) {
        var regions = ScratchRegions()
        accumulators = regions.take(rows * valueDim)
        maxima = regions.take(rows)
        sums = regions.take(rows)
        keyBlock = regions.take(Self.blockKeys * headDim)
        valueBlock = regions.take(Self.blockKeys * valueDim)
        floats = regions.floats
    }
}

private struct BlockTileJob: TiledAttentionJob {
    let geometry: AttentionGeometry
    let output: UnsafeMutablePointer<Float>
    let queries: UnsafePointer<Float>
    let keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>
    let batch, firstPosition: Int, window: Int?
    let positions, tiles: Int
    let layout: BlockTileScratch
    let scratch: UnsafeMutableRawPointer
    var scratchBytes: Int { layout.bytes }

    @inline(__always)
    func attendTile(kvHead: Int, tokens: Range<Int>, scratch s: UnsafeMutablePointer<Float>) {
        let g = geometry, blockKeys = BlockTileScratch.blockKeys
        let rows = tokens.count * g.group
        let acc = s + layout.accumulators, maxima = s + layout.maxima, sums = s + layout.sums
        let kt = s + layout.keyBlock, vf = s + layout.valueBlock
        acc.update(repeating: 0, count: rows * g.valueDim)
        maxima.update(repeating: -.infinity, count: rows)
        sums.update(repeating: 0, count: rows)

        // Blocks in llama.cpp's cell order (`llamaCppKeyRuns`); a ring is a whole number of blocks.
        let runs = llamaCppKeyRuns(firstKey(firstPosition + tokens.lowerBound), firstPosition + tokens.upperBound, window: window)
        for run in [runs.first, runs.second] where !run.isEmpty {
            let keyEnd = run.upperBound
            var blockStart = run.lowerBound / blockKeys * blockKeys
            while blockStart < keyEnd {
                let n = min(blockKeys, keyEnd - blockStart)
                ck_f16_rows_to_f32_transposed64(Int64(n), Int64(g.headDim), keys + blockStart * g.keyStride + kvHead * g.headDim,
                                                g.keyStride, kt)
                ck_f16_rows_to_f32(Int64(n), Int64(g.valueDim), values + blockStart * g.valueStride + kvHead * g.valueDim,
                                   g.valueStride, vf, g.valueDim)
                for (t, b) in tokens.enumerated() {
                    let position = firstPosition + b
                    let from = max(firstKey(position), blockStart) - blockStart, to = min(position + 1, keyEnd, blockStart + blockKeys) - blockStart
                    if from >= to { continue }
                    // The token's query heads of this KV head: consecutive in its query row and in the tile's rows.
                    let r = t * g.group
                    let q = queries + b * g.heads * g.headDim + kvHead * g.group * g.headDim
                    ck_attention_block64_heads(Int64(g.group), Int64(g.headDim), Int64(g.valueDim), q, kt, vf, g.valueDim,
                                               Int64(from), Int64(to), g.scale, maxima + r, sums + r, acc + r * g.valueDim)
                }
                blockStart += blockKeys
            }
        }

        writeNormalized(tokens: tokens, kvHead: kvHead, accumulators: acc, sums: sums, into: output)
    }
}
