import Testing
import Kernels

/// Q4_0 and Q4_K add their floats as llama.cpp's AVX2 build does, which depends on the matrix:
/// that build repacks a Q4_0 or Q4_K matrix only when its row count is a multiple of 8. Checked
/// bit for bit against plain scalar models of each order, on matrices of 16 rows (repacked) and
/// 12 rows (not).
///
/// Q4_0 repacked (any batch size): per output, acc = fma(block's integer sum, d_x * d_y, acc).
/// Q4_0 as stored: its vec_dot, 8 float lanes (lane l: elements 4l..4l+3 of each block),
/// lanes[l] = fma(d_x * d_y, lane sum, lanes[l]), then the fixed horizontal sum.
/// Q4_K as stored, up to 7 activation rows: its vec_dot, the scaled products in 8 lanes as
/// Q5_K's, the min terms in 4 lanes (lane l: sub-blocks 2l, 2l+1) with fma(-(dmin_x * d_y), ...),
/// then hsum(lanes) + ((m0 + m2) + (m1 + m3)). From 8 rows: its tiled kernel, r = d_x * integer
/// sum, r = fma(-dmin_x, min term, r), acc = fma(r, d_y, acc).
@Suite struct Q4RepackOrderTests {
    static let repackedRows = 16, storedRows = 12

    // MARK: Q4_0

    /// Integer products of one Q4_0 block with one Q8_0 block (34 bytes: f16 d, 32 int8).
    static func q4_0Products(_ w: UnsafePointer<UInt8>, _ a: UnsafePointer<UInt8>) -> [Int] {
        (0..<32).map { e in
            let nibble = e < 16 ? Int(w[2 + e] & 15) : Int(w[2 + e - 16] >> 4)
            return (nibble - 8) * Int(Int8(bitPattern: a[2 + e]))
        }
    }

    static func half(_ b: UnsafePointer<UInt8>, _ o: Int) -> Float { fp16ToFloat(UInt16(b[o]) | UInt16(b[o + 1]) << 8) }

    /// The 8-lane float sum of the AVX2 kernels: halves, then pairs, then the last two.
    static func hsum8(_ a: [Float]) -> Float {
        let r = (0..<4).map { a[$0] + a[$0 + 4] }
        return (r[0] + r[2]) + (r[1] + r[3])
    }

    static func q4_0Model(_ w: UnsafePointer<UInt8>, _ a: UnsafePointer<UInt8>, n: Int, repacked: Bool) -> Float {
        var acc: Float = 0
        var lanes = [Float](repeating: 0, count: 8)
        for i in 0..<(n / 32) {
            let wb = w + 18 * i, ab = a + 34 * i
            let p = q4_0Products(wb, ab)
            let d = half(wb, 0) * half(ab, 0)
            if repacked {
                acc = acc.addingProduct(Float(p.reduce(0, +)), d)
            } else {
                for l in 0..<8 { lanes[l] = lanes[l].addingProduct(d, Float(p[4 * l] + p[4 * l + 1] + p[4 * l + 2] + p[4 * l + 3])) }
            }
        }
        return repacked ? acc : hsum8(lanes)
    }

    // MARK: Q4_K

    /// One Q4_K block (f16 d, f16 dmin, scales[12], qs[128]) against one Q8_K block (f32 d,
    /// 256 int8, 16 int16 bsums): the 8 lane sums of its scaled products and 4 lane min terms.
    static func q4_KLanes(_ w: UnsafePointer<UInt8>, _ a: UnsafePointer<UInt8>) -> (lanes: [Int], mins: [Int]) {
        let p = w + 4
        func scaleMin(_ s: Int) -> (Int, Int) {
            s < 4 ? (Int(p[s] & 63), Int(p[s + 4] & 63))
                : (Int(p[s + 4] & 15) | Int(p[s - 4] >> 6) << 4, Int(p[s + 4] >> 4) | Int(p[s] >> 6) << 4)
        }
        let ab = UnsafeRawPointer(a)
        var lanes = [Int](repeating: 0, count: 8), mins = [Int](repeating: 0, count: 4)
        for e in 0..<256 {
            let s = e / 32, byte = w[16 + 32 * (e / 64) + e % 32]
            let q = s % 2 == 0 ? Int(byte & 15) : Int(byte >> 4)
            lanes[(e % 32) / 4] += scaleMin(s).0 * q * Int(ab.load(fromByteOffset: 4 + e, as: Int8.self))
        }
        for g in 0..<16 {
            mins[g / 4] += scaleMin(g / 2).1 * Int(ab.loadUnaligned(fromByteOffset: 260 + 2 * g, as: Int16.self))
        }
        return (lanes, mins)
    }

    static func q4_KModel(_ w: UnsafePointer<UInt8>, _ a: UnsafePointer<UInt8>, n: Int, tiled: Bool) -> Float {
        var lanes = [Float](repeating: 0, count: 8), accm = [Float](repeating: 0, count: 4)
        var acc: Float = 0
        for i in 0..<(n / 256) {
            let wb = w + 144 * i, ab = a + 292 * i
            let yd = UnsafeRawPointer(ab).loadUnaligned(as: Float.self)
            let dx = half(wb, 0), dminx = half(wb, 2)
            let (l, m) = q4_KLanes(wb, ab)
            if tiled {
                let r = (dx * Float(l.reduce(0, +))).addingProduct(-dminx, Float(m.reduce(0, +)))
                acc = acc.addingProduct(r, yd)
            } else {
                let d = yd * dx, dmin = -(yd * dminx)
                for k in 0..<4 { accm[k] = accm[k].addingProduct(dmin, Float(m[k])) }
                for k in 0..<8 { lanes[k] = lanes[k].addingProduct(d, Float(l[k])) }
            }
        }
        return tiled ? acc : hsum8(lanes) + ((accm[0] + accm[2]) + (accm[1] + accm[3]))
    }

    // MARK: cases

    struct Case {
        let f: QuantFormat, rows: Int, cols: Int
        let weights: [UInt8], x: [Float], q: [UInt8]
        var aRowBytes: Int { f.activationFormat!.rowBytes(cols) }
    }

    static func makeCase(_ f: QuantFormat, rows: Int, cols: Int, batch: Int, seed: UInt64) -> Case {
        var rng = SplitMix64(seed: seed ^ UInt64(f.rawValue))
        let weights = randomBlocks(f, blocks: rows * cols / f.blockSize, rng: &rng)
        let x = randomFloats(batch * cols, rng: &rng, scale: 2)
        let act = f.activationFormat!, rowBytes = act.rowBytes(cols)
        var q = [UInt8](repeating: 0, count: batch * rowBytes)
        q.withUnsafeMutableBytes { qp in
            x.withUnsafeBufferPointer { xp in
                for b in 0..<batch { quantizeActivations(act, xp.baseAddress! + b * cols, qp.baseAddress! + b * rowBytes, count: cols) }
            }
        }
        return Case(f: f, rows: rows, cols: cols, weights: weights, x: x, q: q)
    }

    /// The model's value for activation row `b` of a batch of `batch` rows.
    static func model(_ c: Case, row r: Int, column b: Int, batch: Int) -> Float {
        c.weights.withUnsafeBufferPointer { wp in
            c.q.withUnsafeBufferPointer { qp in
                let w = wp.baseAddress! + r * c.f.rowBytes(c.cols), a = qp.baseAddress! + b * c.aRowBytes
                let repacked = c.rows % 8 == 0
                if c.f == .q4_0 { return q4_0Model(w, a, n: c.cols, repacked: repacked) }
                if repacked { return batchVecDot(.q4_K, count: c.cols, w, a, row: b, batch: batch, rows: c.rows) }
                return q4_KModel(w, a, n: c.cols, tiled: batch >= 8)
            }
        }
    }

    @Test func repackDecision() {
        #expect(llamaCppRepacks(.q4_0, rows: 16) && llamaCppRepacks(.q4_K, rows: 896))
        #expect(!llamaCppRepacks(.q4_0, rows: 12) && !llamaCppRepacks(.q4_K, rows: 36))
        #expect(!llamaCppRepacks(.q8_0, rows: 16) && !llamaCppRepacks(.q5_K, rows: 16) && !llamaCppRepacks(.q4_1, rows: 16))
        #expect(batchOrderRows(.q4_0, rows: 16, batch: 1) == 1 && batchOrderRows(.q4_0, rows: 12, batch: 9) == 0)
        #expect(batchOrderRows(.q4_K, rows: 16, batch: 7) == 4 && batchOrderRows(.q4_K, rows: 12, batch: 7) == 0)
        #expect(batchOrderRows(.q4_K, rows: 12, batch: 9) == 9)
    }

    /// `batchVecDot` equals the model for each matrix kind and batch size, at 1, 6 and 19 blocks
    /// of 256 (8, 48 and 152 of 32); repacked Q4_K is held to `batchVecDot` in matmulFollowsTheModel.
    @Test(arguments: [QuantFormat.q4_0, .q4_K])
    func dotProductsFollowTheModel(_ f: QuantFormat) {
        #if arch(x86_64)
        #expect(kernelsUseAVX2)
        #endif
        for cols in [256, 1536, 4864] {
            for rows in f == .q4_K ? [Self.storedRows] : [Self.repackedRows, Self.storedRows] {
                let c = Self.makeCase(f, rows: rows, cols: cols, batch: 2, seed: UInt64(cols))
                c.weights.withUnsafeBufferPointer { wp in
                    c.q.withUnsafeBufferPointer { qp in
                        for r in 0..<3 {
                            for b in 0..<2 {
                                let w = wp.baseAddress! + r * f.rowBytes(cols), a = qp.baseAddress! + b * c.aRowBytes
                                for batch in [1, 2, 7, 8] where b < batch {
                                    let got = batchVecDot(f, count: cols, w, a, row: b, batch: batch, rows: rows)
                                    let want = Self.model(c, row: r, column: b, batch: batch)
                                    #expect(got.bitPattern == want.bitPattern, "\(f) \(rows)x\(cols) row \(r) col \(b) batch \(batch)")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Every path of `matmul` (1 and 2 threads, AVX2 forced) gives the model's bits for the
    /// matrix kind and batch size (Q4_0 also at 800 columns: an odd block count).
    @Test(arguments: [QuantFormat.q4_0, .q4_K])
    func matmulFollowsTheModel(_ f: QuantFormat) {
        for cols in f == .q4_0 ? [800, 1536] : [1536] { matmulFollowsTheModel(f, cols: cols) }
    }

    func matmulFollowsTheModel(_ f: QuantFormat, cols: Int) {
        let pool1 = ThreadPool(threads: 1), pool2 = ThreadPool(threads: 2)
        for rows in [Self.repackedRows, Self.storedRows, 40] {
            for batch in [1, 2, 3, 4, 5, 7, 8, 9, 17] {
                let c = Self.makeCase(f, rows: rows, cols: cols, batch: batch, seed: 5 + UInt64(batch * rows))
                var want = [Float](repeating: 0, count: batch * rows)
                for b in 0..<batch {
                    for r in 0..<rows { want[b * rows + r] = Self.model(c, row: r, column: b, batch: batch) }
                }
                c.weights.withUnsafeBytes { raw in
                    let w = WeightMatrix(format: f, rows: rows, cols: cols, base: raw.baseAddress!)
                    expectMatmulBits(w, c.x, batch: batch, want, "\(f) \(rows)x\(cols), batch \(batch)", pools: (pool1, pool2))
                    // The repacked Q4_0 order is one scalar chain per output: the portable kernels
                    // give the same bits.
                    if f == .q4_0 && llamaCppRepacks(f, rows: rows) {
                        var y = [Float](repeating: .nan, count: batch * rows)
                        forceScalarKernels(true)
                        matmul(w, c.x, &y, batch: batch, pool: pool1)
                        forceScalarKernels(false)
                        #expect(y.map(\.bitPattern) == want.map(\.bitPattern), "\(f) \(rows)x\(cols), batch \(batch), scalar kernels")
                    }
                }
            }
        }
    }

    /// The orders differ on these inputs (so the tests above can fail): Q4_0 repacked against its
    /// vec_dot; unrepacked Q4_K's vec_dot against its tiled order and against the repacked
    /// lone-row order (`vecDot`).
    @Test func theOrdersAreDistinct() {
        let cols = 1536
        let c0 = Self.makeCase(.q4_0, rows: 8, cols: cols, batch: 2, seed: 7)
        let cK = Self.makeCase(.q4_K, rows: 8, cols: cols, batch: 2, seed: 7)
        var q4_0Differs = 0, vecVsTiled = 0, vecVsRepacked = 0
        for r in 0..<8 {
            for b in 0..<2 {
                c0.weights.withUnsafeBufferPointer { wp in
                    c0.q.withUnsafeBufferPointer { qp in
                        let w = wp.baseAddress! + r * QuantFormat.q4_0.rowBytes(cols), a = qp.baseAddress! + b * c0.aRowBytes
                        if Self.q4_0Model(w, a, n: cols, repacked: true) != Self.q4_0Model(w, a, n: cols, repacked: false) { q4_0Differs += 1 }
                    }
                }
                cK.weights.withUnsafeBufferPointer { wp in
                    cK.q.withUnsafeBufferPointer { qp in
                        let w = wp.baseAddress! + r * QuantFormat.q4_K.rowBytes(cols), a = qp.baseAddress! + b * cK.aRowBytes
                        let v = Self.q4_KModel(w, a, n: cols, tiled: false)
                        if v != Self.q4_KModel(w, a, n: cols, tiled: true) { vecVsTiled += 1 }
                        if v != vecDot(.q4_K, count: cols, w, a) { vecVsRepacked += 1 }
                    }
                }
            }
        }
        #expect(q4_0Differs > 0, "Q4_0: the repacked and vec_dot models agree on all 16 dots")
        #expect(vecVsTiled > 0, "Q4_K: the vec_dot and tiled models agree on all 16 dots")
        #expect(vecVsRepacked > 0, "Q4_K: the vec_dot model equals the repacked lone-row kernel on all 16 dots")
    }
}
