import Testing
import Kernels

/// The prepared-activation kernels of the 32-element formats and the fused (shared-input)
/// matmul: both must give exactly what the plain single-row dot products give.
@Suite struct FusedMatmulTests {
    static let pool1 = ThreadPool(threads: 1)
    static let pool2 = ThreadPool(threads: 2)

    /// matmul at batch 1 and batch 5 equals `vecDot` on the Q8_0/Q8_1/Q8_K-quantized input, row by
    /// row, bit for bit: the prepared kernels keep the integer lanes and float order of the
    /// single dot products.
    @Test(arguments: [QuantFormat.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K])
    func matmulEqualsVecDot(_ f: QuantFormat) {
        var rng = SplitMix64(seed: 99 ^ UInt64(f.rawValue))
        let cols = f.blockSize == 256 ? 768 : 800, rows = 21
        let wb = randomBlocks(f, blocks: rows * cols / f.blockSize, rng: &rng)
        let act = f.activationFormat!
        let batch = 5
        let x = randomFloats(batch * cols, rng: &rng)
        var y = [Float](repeating: .nan, count: batch * rows)
        var y1 = [Float](repeating: .nan, count: rows)
        var expected = [Float](repeating: 0, count: batch * rows)
        var expected1 = [Float](repeating: 0, count: rows)
        wb.withUnsafeBytes { raw in
            let w = WeightMatrix(format: f, rows: rows, cols: cols, base: raw.baseAddress!)
            matmul(w, x, &y, batch: batch, pool: Self.pool2)
            matmul(w, x, &y1, batch: 1, pool: Self.pool2)
            var qa = [UInt8](repeating: 0, count: act.rowBytes(cols))
            x.withUnsafeBufferPointer { xp in
                for b in 0..<batch {
                    qa.withUnsafeMutableBytes { q in quantizeActivations(act, xp.baseAddress! + b * cols, q.baseAddress!, count: cols) }
                    qa.withUnsafeBytes { q in
                        for r in 0..<rows {
                            let wr = raw.baseAddress! + r * w.rowBytes
                            expected[b * rows + r] = batchVecDot(f, count: cols, wr, q.baseAddress!, row: b, batch: batch, rows: rows)
                            if b == 0 { expected1[r] = batchVecDot(f, count: cols, wr, q.baseAddress!, row: 0, batch: 1, rows: rows) }
                        }
                    }
                }
            }
        }
        #expect(y == expected, "\(f): batched matmul differs from vecDot")
        #expect(y1 == expected1, "\(f): matmul at batch 1 differs from vecDot")
    }

    /// The portable scalar path of the prepared kernels (forced on the calling thread, one-thread
    /// pool) agrees with the double-precision reference.
    @Test(arguments: [QuantFormat.q4_0, .q5_0, .q8_0, .q4_1, .q5_1])
    func scalarPreparedMatchesReference(_ f: QuantFormat) {
        var rng = SplitMix64(seed: 31 ^ UInt64(f.rawValue))
        let cols = 320, rows = 7, batch = 6
        let wb = randomBlocks(f, blocks: rows * cols / 32, rng: &rng)
        let wRef = refDequantize(f, wb, count: rows * cols)
        let x = randomFloats(batch * cols, rng: &rng)
        var y = [Float](repeating: .nan, count: batch * rows)
        forceScalarKernels(true)
        wb.withUnsafeBytes { raw in
            matmul(WeightMatrix(format: f, rows: rows, cols: cols, base: raw.baseAddress!), x, &y, batch: batch, pool: Self.pool1)
        }
        forceScalarKernels(false)
        let act = f.activationFormat!
        var worst = 0.0
        for b in 0..<batch {
            let xq = refDequantize(act, refQuantize(act, Array(x[(b * cols)..<((b + 1) * cols)])), count: cols)
            for r in 0..<rows {
                var s = 0.0, a = 0.0
                for c in 0..<cols {
                    s += wRef[r * cols + c] * xq[c]
                    a += abs(wRef[r * cols + c] * xq[c])
                }
                let tol = (f == .q4_1 || f == .q5_1 ? 1e-3 : 3e-6) * a + 1e-6
                let err = abs(Double(y[b * rows + r]) - s)
                if err > tol { worst = max(worst, err / tol) }
            }
        }
        #expect(worst == 0, "\(f): error \(worst)x tolerance")
    }

    /// The AVX-512 VNNI kernels (where the CPU has them) give exactly the AVX2 kernels' results.
    /// On a CPU without them both runs take the AVX2 path and the test checks that instead.
    @Test(arguments: [QuantFormat.q4_0, .q5_0, .q8_0, .q4_1, .q5_1])
    func vnniEqualsAVX2(_ f: QuantFormat) {
        var rng = SplitMix64(seed: 555 ^ UInt64(f.rawValue))
        let cols = 800, rows = 11
        let wb = randomBlocks(f, blocks: rows * cols / 32, rng: &rng)
        for batch in [1, 6] {
            let x = randomFloats(batch * cols, rng: &rng)
            var auto = [Float](repeating: .nan, count: batch * rows)
            var plain = auto
            wb.withUnsafeBytes { raw in
                let w = WeightMatrix(format: f, rows: rows, cols: cols, base: raw.baseAddress!)
                matmul(w, x, &auto, batch: batch, pool: Self.pool1)
                forceAVX2Kernels(true)
                matmul(w, x, &plain, batch: batch, pool: Self.pool1)
                forceAVX2Kernels(false)
            }
            #expect(auto == plain, "\(f) batch \(batch) (VNNI active: \(kernelsUseVNNI))")
        }
    }

    /// Two and three matrices over one input equal separate matmuls bit for bit, with formats
    /// that share the prepared activations (Q5_0, Q8_0, Q4_1), and with one (Q4_K) that does not.
    @Test(arguments: [1, 3, 9])
    func fusedEqualsSeparate(_ batch: Int) {
        var rng = SplitMix64(seed: 2024 &+ UInt64(batch))
        let cols = 512
        let specs: [(QuantFormat, Int)] = [(.q5_0, 37), (.q8_0, 12), (.q4_1, 20), (.q4_K, 9)]
        let blocks = specs.map { randomBlocks($0.0, blocks: $0.1 * cols / $0.0.blockSize, rng: &rng) }
        let x = randomFloats(batch * cols, rng: &rng)
        for combo in [[0, 1, 2], [0, 1], [2, 0], [0, 3, 1], [3, 0]] {
            var separate: [[Float]] = []
            var f0 = [Float](repeating: .nan, count: batch * specs[combo[0]].1)
            var f1 = [Float](repeating: .nan, count: batch * specs[combo[1]].1)
            var f2 = [Float](repeating: .nan, count: combo.count > 2 ? batch * specs[combo[2]].1 : 0)
            func withMatrices(_ body: ([WeightMatrix]) -> Void) {
                blocks[0].withUnsafeBytes { b0 in
                    blocks[1].withUnsafeBytes { b1 in
                        blocks[2].withUnsafeBytes { b2 in
                            blocks[3].withUnsafeBytes { b3 in
                                let bases = [b0.baseAddress!, b1.baseAddress!, b2.baseAddress!, b3.baseAddress!]
                                body(combo.map { WeightMatrix(format: specs[$0].0, rows: specs[$0].1, cols: cols, base: bases[$0]) })
                            }
                        }
                    }
                }
            }
            withMatrices { ws in
                for w in ws {
                    var y = [Float](repeating: .nan, count: batch * w.rows)
                    matmul(w, x, &y, batch: batch, pool: Self.pool2)
                    separate.append(y)
                }
                if ws.count == 2 {
                    matmul(ws[0], &f0, ws[1], &f1, input: x, batch: batch, pool: Self.pool2)
                } else {
                    matmul(ws[0], &f0, ws[1], &f1, ws[2], &f2, input: x, batch: batch, pool: Self.pool2)
                }
            }
            let fused = combo.count > 2 ? [f0, f1, f2] : [f0, f1]
            #expect(fused == separate, "formats \(combo.map { specs[$0].0 }) batch \(batch)")
        }
    }
}
