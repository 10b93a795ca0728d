import Testing
import Kernels
import CKernels

/// Tiled prefill attention (tiles of query rows against blocks of keys) gives exactly the bits of
/// row-at-a-time attention: per row the keys are visited in the same order with the same
/// arithmetic, whatever the tile and block sizes.
@Suite struct AttentionTilingTests {
    struct Shape: CustomTestStringConvertible, Sendable {
        var heads, kvHeads, headDim, valueDim, batch, firstPosition: Int
        var window: Int?
        var testDescription: String {
            "\(heads)/\(kvHeads) heads, dims \(headDim)/\(valueDim), batch \(batch) at \(firstPosition), window \(window.map(String.init) ?? "none")"
        }
    }

    static let shapes: [Shape] = [
        // GQA ratio 7 (Qwen2.5 0.5B), 3 (SmolLM2 135M), 4 (Gemma3 270M, with its sliding window), 1 and 2.
        Shape(heads: 14, kvHeads: 2, headDim: 64, valueDim: 64, batch: 37, firstPosition: 0, window: nil),
        Shape(heads: 9, kvHeads: 3, headDim: 64, valueDim: 64, batch: 29, firstPosition: 5, window: nil),
        Shape(heads: 4, kvHeads: 1, headDim: 256, valueDim: 256, batch: 41, firstPosition: 3, window: 17),
        Shape(heads: 3, kvHeads: 3, headDim: 40, valueDim: 44, batch: 23, firstPosition: 70, window: nil),
        Shape(heads: 4, kvHeads: 2, headDim: 20, valueDim: 72, batch: 19, firstPosition: 11, window: 6),
        // A continued prefill whose window starts past the tile's first keys, and a tiny batch.
        Shape(heads: 7, kvHeads: 1, headDim: 96, valueDim: 96, batch: 33, firstPosition: 140, window: 50),
        Shape(heads: 2, kvHeads: 1, headDim: 32, valueDim: 40, batch: 2, firstPosition: 9, window: nil),
        // Rows on both sides of a sliding window's ring boundary (768 cells for a window of 20).
        Shape(heads: 4, kvHeads: 1, headDim: 32, valueDim: 32, batch: 21, firstPosition: 757, window: 20),
    ]

    static let tilings: [AttentionTiling] = [
        .standard, AttentionTiling(positions: 3, keys: 5), AttentionTiling(positions: 2, keys: 1),
        AttentionTiling(positions: 8, keys: 13), AttentionTiling(positions: 5, keys: 300),
    ]

    /// Random queries, keys and values for `shape` (the cache rows up to its last position).
    static func inputs(_ shape: Shape, rng: inout SplitMix64) -> (q: [Float], k: [Float], v: [Float]) {
        let rows = shape.firstPosition + shape.batch
        let q = randomFloats(shape.batch * shape.heads * shape.headDim, rng: &rng, scale: 3)
        let k = randomFloats(rows * shape.kvHeads * shape.headDim, rng: &rng, scale: 3)
        let v = randomFloats(rows * shape.kvHeads * shape.valueDim, rng: &rng, scale: 2)
        return (q, k, v)
    }

    /// The same with keys and values as an F16 cache holds them.
    static func inputsF16(_ shape: Shape, rng: inout SplitMix64) -> (q: [Float], k: [UInt16], v: [UInt16]) {
        let (q, kf, vf) = inputs(shape, rng: &rng)
        var k16 = [UInt16](repeating: 0, count: kf.count), v16 = [UInt16](repeating: 0, count: vf.count)
        f32ToF16(&k16, kf, count: kf.count)
        f32ToF16(&v16, vf, count: vf.count)
        return (q, k16, v16)
    }

    static func firstBitDifference(_ a: [Float], _ b: [Float]) -> Int? {
        a.indices.first { a[$0].bitPattern != b[$0].bitPattern }
    }

    @Test(arguments: shapes)
    func tiledPrefillEqualsRowAtATime(_ shape: Shape) {
        var rng = SplitMix64(seed: 4000 + UInt64(shape.heads * 131 + shape.headDim + shape.batch))
        let (q, k16, v16) = Self.inputsF16(shape, rng: &rng)
        for threads in [1, 2] {
            let pool = ThreadPool(threads: threads)
            let expected = run(shape, q, k16, v16, pool, .rowAtATime)
            for tiling in Self.tilings {
                let got = run(shape, q, k16, v16, pool, tiling)
                let mismatch = Self.firstBitDifference(got, expected)
                #expect(mismatch == nil, "\(threads) threads, tiling \(tiling): first difference at \(mismatch ?? -1)")
            }
        }
    }

    /// Over an F32 cache (two-pass softmax in F32): tiles equal rows too.
    @Test(arguments: shapes)
    func tiledPrefillOverF32CacheEqualsRowAtATime(_ shape: Shape) {
        var rng = SplitMix64(seed: 4300 + UInt64(shape.heads * 131 + shape.headDim + shape.batch))
        let (q, k, v) = Self.inputs(shape, rng: &rng)
        for threads in [1, 2] {
            let pool = ThreadPool(threads: threads)
            let expected = run(shape, q, k, v, pool, .rowAtATime)
            for tiling in Self.tilings {
                let got = run(shape, q, k, v, pool, tiling)
                let mismatch = Self.firstBitDifference(got, expected)
                #expect(mismatch == nil, "F32 cache, \(threads) threads, tiling \(tiling): first difference at \(mismatch ?? -1)")
            }
        }
    }

    /// The tiled value sums' AVX-512, AVX2 and portable kernels (each where the CPU has it) give
    /// the row path's bits; a one-thread pool runs on this thread, where the choice applies.
    @Test(arguments: [0, 1, 3])
    func everyInstructionSetGivesTheSameBits(_ isa: Int32) {
        let pool = ThreadPool(threads: 1)
        for shape in Self.shapes {
            var rng = SplitMix64(seed: 4200 + UInt64(shape.valueDim))
            let (q, k16, v16) = Self.inputsF16(shape, rng: &rng)
            let expected = run(shape, q, k16, v16, pool, .rowAtATime)
            // Blocks of 7 keys take the one-key score path only; of 21, eight keys at a time and the rest.
            for tiling in [AttentionTiling(positions: 3, keys: 7), AttentionTiling(positions: 4, keys: 21)] {
                ck_attention_set_isa(isa)
                let got = run(shape, q, k16, v16, pool, tiling)
                ck_attention_set_isa(3)
                let mismatch = Self.firstBitDifference(got, expected)
                #expect(mismatch == nil, "\(shape.testDescription), instruction sets \(isa), \(tiling): first difference at \(mismatch ?? -1)")
            }
        }
    }

    /// Equal outputs could also come from both paths skipping work: the result must be a
    /// weighted mean of the visible values (every head's output within their range per lane).
    @Test func tiledOutputIsAMeanOfVisibleValues() {
        let shape = Self.shapes[2]
        var rng = SplitMix64(seed: 4100)
        let (q, k16, v16) = Self.inputsF16(shape, rng: &rng)
        let out = run(shape, q, k16, v16, ThreadPool(threads: 2), .standard)
        for b in 0..<shape.batch {
            let position = shape.firstPosition + b
            let visible = max(0, position - shape.window! + 1)...position
            for h in 0..<shape.heads {
                for d in 0..<shape.valueDim {
                    let lanes = visible.map { fp16ToFloat(v16[$0 * shape.valueDim + d]) }
                    let got = out[(b * shape.heads + h) * shape.valueDim + d]
                    #expect(got >= lanes.min()! - 0.05 && got <= lanes.max()! + 0.05, "token \(b) head \(h) lane \(d): \(got)")
                }
            }
        }
    }

    private func run<E>(_ s: Shape, _ q: [Float], _ k: [E], _ v: [E], _ pool: ThreadPool, _ tiling: AttentionTiling) -> [Float] {
        Self.attend(s, q, k, v, pool, tiling: tiling)
    }

    /// Attention over a cache of F16 (`UInt16`) or F32 (`Float`) elements, for `shape`'s rows as
    /// one step of `stepRows` rows (0: unknown).
    static func attend<E>(_ s: Shape, _ q: [Float], _ k: [E], _ v: [E], _ pool: ThreadPool,
                          tiling: AttentionTiling = .standard, stepRows: Int = 0) -> [Float] {
        var out = [Float](repeating: .nan, count: s.batch * s.heads * s.valueDim)
        k.withUnsafeBytes { kb in
            v.withUnsafeBytes { vb in
                attention(output: &out, queries: q, batch: s.batch, firstPosition: s.firstPosition,
                          keys: kb.baseAddress!, values: vb.baseAddress!, format: E.self == Float.self ? .f32 : .f16,
                          heads: s.heads, kvHeads: s.kvHeads, headDim: s.headDim, valueDim: s.valueDim,
                          scale: 1 / Float(s.headDim).squareRoot(), window: s.window, pool: pool, tiling: tiling,
                          stepRows: stepRows)
            }
        }
        return out
    }
}
