import Testing
import Kernels

/// Matmul over a few activation rows, as a decode step over several sequences runs it: every
/// column must equal the single dot product of its row bit for bit, whatever the column count
/// (1 to 17, so blocks of 8 and of 4 and their remainders all occur), on the AVX-512 kernels,
/// the AVX2 kernels, and the scalar ones. The single dot product is the one of the float order
/// llama.cpp's AVX2 build uses for that row of that batch (`batchVecDot`: Q4_K rows in groups of
/// four and Q2_K/Q3_K/Q5_K/Q6_K batches of eight or more have their own; the 9-row matrices here
/// are ones it does not repack, Q4RepackOrderTests covers those it does).
@Suite struct BatchedColumnsTests {
    static let pool1 = ThreadPool(threads: 1)
    static let pool2 = ThreadPool(threads: 2)

    static let quantFormats: [QuantFormat] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    /// One `batchVecDot` per row and column, on the activation format the weight pairs with.
    static func expected(_ f: QuantFormat, _ w: WeightMatrix, _ x: [Float], batch: Int) -> [Float] {
        let act = f.activationFormat!, cols = w.cols, rows = w.rows
        var out = [Float](repeating: 0, count: batch * rows)
        var qa = [UInt8](repeating: 0, count: act.rowBytes(cols))
        x.withUnsafeBufferPointer { xp in
            for b in 0..<batch {
                qa.withUnsafeMutableBytes { q in quantizeActivations(act, xp.baseAddress! + b * cols, q.baseAddress!, count: cols) }
                qa.withUnsafeBytes { q in
                    for r in 0..<rows { out[b * rows + r] = batchVecDot(f, count: cols, w.row(r), q.baseAddress!, row: b, batch: batch, rows: rows) }
                }
            }
        }
        return out
    }

    @Test(arguments: quantFormats)
    func everyColumnCountEqualsVecDot(_ f: QuantFormat) {
        var rng = SplitMix64(seed: 2026 ^ UInt64(f.rawValue))
        let cols = f.blockSize == 256 ? 768 : 800, rows = 9  // 800: an odd block count
        let wb = randomBlocks(f, blocks: rows * cols / f.blockSize, rng: &rng)
        wb.withUnsafeBytes { raw in
            let w = WeightMatrix(format: f, rows: rows, cols: cols, base: raw.baseAddress!)
            for batch in 1...17 {
                let x = randomFloats(batch * cols, rng: &rng)
                let want = Self.expected(f, w, x, batch: batch)
                var auto = [Float](repeating: .nan, count: batch * rows)
                var avx2 = auto, threaded = auto, scalarRun = auto
                matmul(w, x, &auto, batch: batch, pool: Self.pool1)
                forceAVX2Kernels(true)
                matmul(w, x, &avx2, batch: batch, pool: Self.pool1)
                forceAVX2Kernels(false)
                matmul(w, x, &threaded, batch: batch, pool: Self.pool2)
                #expect(auto == want, "\(f) batch \(batch): widest kernels differ from vecDot (AVX-512: \(kernelsUseVNNI))")
                #expect(avx2 == want, "\(f) batch \(batch): AVX2 kernels differ from vecDot")
                #expect(threaded == want, "\(f) batch \(batch): two threads differ from vecDot")
                // The scalar kernels round differently from the SIMD ones; they must agree with
                // the scalar single dot products.
                forceScalarKernels(true)
                matmul(w, x, &scalarRun, batch: batch, pool: Self.pool1)
                let scalarWant = Self.expected(f, w, x, batch: batch)
                forceScalarKernels(false)
                #expect(scalarRun == scalarWant, "\(f) batch \(batch): scalar kernels differ from scalar vecDot")
            }
        }
    }

    /// The AVX-512 kernels at every width from 2 to 8 (not only from the default threshold).
    @Test(arguments: [QuantFormat.q5_0, .q8_0, .q4_1, .q4_K, .q6_K])
    func wideKernelsAtEveryWidth(_ f: QuantFormat) {
        var rng = SplitMix64(seed: 77 ^ UInt64(f.rawValue))
        let cols = f.blockSize == 256 ? 512 : 352, rows = 5
        let wb = randomBlocks(f, blocks: rows * cols / f.blockSize, rng: &rng)
        wb.withUnsafeBytes { raw in
            let w = WeightMatrix(format: f, rows: rows, cols: cols, base: raw.baseAddress!)
            for threshold in [2, 5, 9] {
                setWideKernelMinColumns(threshold)
                for batch in 2...8 {
                    let x = randomFloats(batch * cols, rng: &rng)
                    var y = [Float](repeating: .nan, count: batch * rows)
                    matmul(w, x, &y, batch: batch, pool: Self.pool1)
                    #expect(y == Self.expected(f, w, x, batch: batch), "\(f) batch \(batch), wide from \(threshold)")
                }
            }
            setWideKernelMinColumns(2)
        }
    }
}
