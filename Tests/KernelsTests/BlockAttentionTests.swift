import Foundation
import Testing
import Kernels
import CKernels

/// Attention for a step of 64 or more query rows over an F16 cache: llama.cpp's tiled flash
/// attention (blocks of 64 keys from position 0, F32 scores and value sums, its vectorized exp),
/// which `attention(stepRows:)` runs from `llamaCppBlockAttentionMinimumRows` rows. Its bits
/// against llama.cpp's are checked end to end by the perplexity tests on the real models; here:
/// the same bits from every instruction set, thread count and split of the rows, and real attention.
@Suite struct BlockAttentionTests {
    typealias Shape = AttentionTilingTests.Shape

    static let shapes: [Shape] = [
        Shape(heads: 14, kvHeads: 2, headDim: 64, valueDim: 64, batch: 70, firstPosition: 0, window: nil),
        Shape(heads: 9, kvHeads: 3, headDim: 64, valueDim: 64, batch: 64, firstPosition: 130, window: nil),
        Shape(heads: 4, kvHeads: 1, headDim: 256, valueDim: 256, batch: 96, firstPosition: 3, window: 77),
        Shape(heads: 4, kvHeads: 2, headDim: 20, valueDim: 36, batch: 65, firstPosition: 11, window: 6),
        // Past a sliding window's ring of cells (768 for a window of 20): keys in two runs.
        Shape(heads: 4, kvHeads: 1, headDim: 32, valueDim: 32, batch: 80, firstPosition: 730, window: 20),
    ]

    @Test(arguments: shapes)
    func sameBitsForEveryThreadCountAndSplit(_ shape: Shape) {
        var rng = SplitMix64(seed: 5000 + UInt64(shape.heads * 131 + shape.headDim + shape.batch))
        let (q, k16, v16) = AttentionTilingTests.inputsF16(shape, rng: &rng)
        let expected = run(shape, q, k16, v16, ThreadPool(threads: 1))
        let twoThreads = run(shape, q, k16, v16, ThreadPool(threads: 2))
        #expect(AttentionTilingTests.firstBitDifference(twoThreads, expected) == nil, "2 threads differ from 1")
        // The step's rows in two calls (the first 40, then the rest): each row's result is its own.
        let split = 40
        var head = shape, tail = shape
        head.batch = split
        tail.batch = shape.batch - split
        tail.firstPosition += split
        let width = shape.heads * shape.headDim
        let parts = run(head, Array(q[..<(split * width)]), k16, v16, ThreadPool(threads: 2), stepRows: shape.batch)
            + run(tail, Array(q[(split * width)...]), k16, v16, ThreadPool(threads: 2), stepRows: shape.batch)
        #expect(AttentionTilingTests.firstBitDifference(parts, expected) == nil, "split rows differ")
    }

    /// AVX2 and the portable kernel give the same bits (a one-thread pool runs on this thread).
    @Test(arguments: [0, 1, 3])
    func everyInstructionSetGivesTheSameBits(_ isa: Int32) {
        let pool = ThreadPool(threads: 1)
        for shape in Self.shapes {
            var rng = SplitMix64(seed: 5100 + UInt64(shape.valueDim))
            let (q, k16, v16) = AttentionTilingTests.inputsF16(shape, rng: &rng)
            let expected = run(shape, q, k16, v16, pool)
            ck_attention_set_isa(isa)
            let got = run(shape, q, k16, v16, pool)
            ck_attention_set_isa(3)
            let mismatch = AttentionTilingTests.firstBitDifference(got, expected)
            #expect(mismatch == nil, "\(shape.testDescription), instruction sets \(isa): first difference at \(mismatch ?? -1)")
        }
    }

    /// Softmax attention computed in Double from the same F16 keys and values: the block path is
    /// attention, to F32 accuracy, and differs in its bits from the path of smaller steps.
    @Test(arguments: shapes)
    func isSoftmaxAttentionAndNotTheSmallStepPath(_ shape: Shape) {
        var rng = SplitMix64(seed: 5200 + UInt64(shape.headDim + shape.batch))
        let (q, k16, v16) = AttentionTilingTests.inputsF16(shape, rng: &rng)
        let pool = ThreadPool(threads: 2)
        let block = run(shape, q, k16, v16, pool)
        let small = run(shape, q, k16, v16, pool, stepRows: llamaCppBlockAttentionMinimumRows - 1)
        #expect(AttentionTilingTests.firstBitDifference(block, small) != nil, "the two paths gave the same bits")
        let group = shape.heads / shape.kvHeads
        let scale = 1 / Double(Float(shape.headDim).squareRoot())
        var worst = 0.0
        for b in 0..<shape.batch {
            let position = shape.firstPosition + b
            let visible = Array(max(0, position - (shape.window ?? Int.max / 2) + 1)...position)
            for h in 0..<shape.heads {
                let kv = h / group
                let qr = (b * shape.heads + h) * shape.headDim
                let scores = visible.map { t in
                    (0..<shape.headDim).reduce(0.0) { s, d in
                        s + Double(q[qr + d]) * Double(fp16ToFloat(k16[(t * shape.kvHeads + kv) * shape.headDim + d]))
                    } * scale
                }
                let m = scores.max()!
                let weights = scores.map { exp($0 - m) }
                let total = weights.reduce(0, +)
                for d in 0..<shape.valueDim {
                    var sum = 0.0
                    for (i, t) in visible.enumerated() { sum += weights[i] * Double(fp16ToFloat(v16[(t * shape.kvHeads + kv) * shape.valueDim + d])) }
                    worst = max(worst, abs(sum / total - Double(block[(b * shape.heads + h) * shape.valueDim + d])))
                }
            }
        }
        #expect(worst < 2e-5, "\(shape.testDescription): off exact attention by \(worst)")
    }

    /// The rows as one step of `stepRows` (default: a block-attention step of at least 64 rows).
    private func run(_ s: Shape, _ q: [Float], _ k: [UInt16], _ v: [UInt16], _ pool: ThreadPool, stepRows: Int? = nil) -> [Float] {
        AttentionTilingTests.attend(s, q, k, v, pool, stepRows: stepRows ?? max(s.batch, llamaCppBlockAttentionMinimumRows))
    }
}

