import Testing
import Kernels

/// Q2_K, Q3_K and Q5_K add their floats in the orders of llama.cpp's AVX2 build, checked bit for
/// bit against a plain scalar model of those orders (written from the block layouts, one element
/// at a time): its vec_dot for batches of up to 7 activation rows, its tiled kernel for 8 or more.
///
/// vec_dot: 8 float lanes, lane l holding elements 4l..4l+3 of every 32 elements (times their
/// integer sub-block scales); per 256-element block acc[l] = fma(d_x * d_y, lane sum, acc[l])
/// (Q2_K first adds its min terms the same way, lane l holding sub-blocks 2l and 2l+1; Q5_K keeps
/// them in a scalar fma chain subtracted at the end); then a fixed horizontal sum.
/// Tiled: per block r = d_x * integer sum (Q2_K, Q5_K: r = fma(-dmin_x, min term, r)), then
/// acc = fma(r, d_y, acc).
@Suite struct KQuantOrderTests {
    static let formats: [QuantFormat] = [.q2_K, .q3_K, .q5_K]

    /// One weight block decoded to integers: element e is `scale[e] * value[e]` times d, minus
    /// `mins[e / 16]` (per 16-element group) times dmin.
    struct IntBlock {
        var d: Float, dmin: Float
        var scaled: [Int]  // 256 integer scale * value products
        var mins: [Int]  // 16 integer mins per 16-element group (0 without a minimum)
    }

    static func half(_ b: UnsafePointer<UInt8>, _ o: Int) -> Float { fp16ToFloat(UInt16(b[o]) | UInt16(b[o + 1]) << 8) }

    static func decode(_ f: QuantFormat, _ b: UnsafePointer<UInt8>) -> IntBlock {
        var scaled = [Int](repeating: 0, count: 256), mins = [Int](repeating: 0, count: 16)
        switch f {
        case .q2_K:  // scales[16], qs[64], d, dmin
            for e in 0..<256 {
                let n = e / 128, j = (e % 128) / 32, l = e % 32
                scaled[e] = Int(b[e / 16] & 15) * (Int(b[16 + 32 * n + l] >> UInt8(2 * j)) & 3)
            }
            for g in 0..<16 { mins[g] = Int(b[g] >> 4) }
            return IntBlock(d: half(b, 80), dmin: half(b, 82), scaled: scaled, mins: mins)
        case .q3_K:  // hmask[32], qs[64], scales[12], d
            let s = b + 96
            for e in 0..<256 {
                let n = e / 128, j = (e % 128) / 32, l = e % 32, g = e / 16
                let low = Int(b[32 + 32 * n + l] >> UInt8(2 * j)) & 3
                let high = Int(b[l] >> UInt8(4 * n + j)) & 1
                let lo4 = g < 8 ? Int(s[g] & 15) : Int(s[g - 8] >> 4)
                let hi2 = Int(s[8 + g % 4] >> UInt8(2 * (g / 4))) & 3
                scaled[e] = ((lo4 | hi2 << 4) - 32) * (low + 4 * high - 4)
            }
            return IntBlock(d: half(b, 108), dmin: 0, scaled: scaled, mins: mins)
        default:  // .q5_K: d, dmin, scales[12], qh[32], qs[128]
            let p = b + 4
            func scaleMin(_ s: Int) -> (Int, Int) {
                s < 4 ? (Int(p[s] & 63), Int(p[s + 4] & 63))
                    : (Int(p[s + 4] & 15) | Int(p[s - 4] >> 6) << 4, Int(p[s + 4] >> 4) | Int(p[s] >> 6) << 4)
            }
            for e in 0..<256 {
                let s = e / 32, j = e / 64, l = e % 32
                let byte = b[48 + 32 * j + l]
                let q = (s % 2 == 0 ? Int(byte & 15) : Int(byte >> 4)) + 16 * (Int(b[16 + l] >> UInt8(s)) & 1)
                scaled[e] = scaleMin(s).0 * q
            }
            for g in 0..<16 { mins[g] = scaleMin(g / 2).1 }
            return IntBlock(d: half(b, 0), dmin: half(b, 2), scaled: scaled, mins: mins)
        }
    }

    /// The 8-lane float sum of the AVX2 kernels: halves, then pairs, then the last two.
    static func hsum8(_ a: [Float]) -> Float {
        let r = (0..<4).map { a[$0] + a[$0 + 4] }
        return (r[0] + r[2]) + (r[1] + r[3])
    }

    /// ggml's order for one weight row and one Q8_K activation row of `n` elements.
    static func model(_ f: QuantFormat, _ w: UnsafePointer<UInt8>, _ a: UnsafePointer<UInt8>, n: Int, tiled: Bool) -> Float {
        var lanes = [Float](repeating: 0, count: 8)
        var accm: Float = 0, acc: Float = 0
        for i in 0..<(n / 256) {
            let x = decode(f, w + i * f.blockBytes)
            let yb = UnsafeRawPointer(a + i * 292)
            let yd = yb.loadUnaligned(as: Float.self)
            let y: [Int] = (0..<256).map { Int(yb.load(fromByteOffset: 4 + $0, as: Int8.self)) }
            let bsum: [Int] = (0..<16).map { Int(yb.loadUnaligned(fromByteOffset: 260 + 2 * $0, as: Int16.self)) }
            var lane = [Int](repeating: 0, count: 8)
            for e in 0..<256 { lane[(e % 32) / 4] += x.scaled[e] * y[e] }
            var minLane = [Int](repeating: 0, count: 8)
            for l in 0..<8 {
                let first: Int = x.mins[2 * l] * bsum[2 * l], second: Int = x.mins[2 * l + 1] * bsum[2 * l + 1]
                minLane[l] = first + second
            }
            let total = lane.reduce(0, +), minTotal = minLane.reduce(0, +)
            if tiled {
                var r = x.d * Float(total)
                if f != .q3_K { r = r.addingProduct(-x.dmin, Float(minTotal)) }
                acc = acc.addingProduct(r, yd)
                continue
            }
            let d = yd * x.d, dmin = yd * x.dmin
            for l in 0..<8 {
                if f == .q2_K { lanes[l] = lanes[l].addingProduct(-dmin, Float(minLane[l])) }
                lanes[l] = lanes[l].addingProduct(d, Float(lane[l]))
            }
            if f == .q5_K { accm = accm.addingProduct(dmin, Float(minTotal)) }
        }
        return tiled ? acc : hsum8(lanes) - accm
    }

    /// Element by element in one float accumulator: the order these tests must tell apart.
    static func naive(_ f: QuantFormat, _ w: UnsafePointer<UInt8>, _ a: UnsafePointer<UInt8>, n: Int) -> Float {
        var s: Float = 0
        for e in 0..<n {
            let yb = UnsafeRawPointer(a + (e / 256) * 292)
            let y = yb.loadUnaligned(as: Float.self) * Float(yb.load(fromByteOffset: 4 + e % 256, as: Int8.self))
            s += Float(refElement(f, w + (e / 256) * f.blockBytes, e % 256)) * y
        }
        return s
    }

    struct Case {
        let rows: Int, cols: Int
        let weights: [UInt8], x: [Float], q: [UInt8]
    }

    static func makeCase(_ f: QuantFormat, rows: Int, cols: Int, batch: Int, seed: UInt64) -> Case {
        var rng = SplitMix64(seed: seed ^ UInt64(f.rawValue))
        let weights = randomBlocks(f, blocks: rows * cols / 256, rng: &rng)
        let x = randomFloats(batch * cols, rng: &rng, scale: 2)
        let rowBytes = QuantFormat.q8_K.rowBytes(cols)
        var q = [UInt8](repeating: 0, count: batch * rowBytes)
        q.withUnsafeMutableBytes { qp in
            x.withUnsafeBufferPointer { xp in
                for b in 0..<batch { quantizeActivations(.q8_K, xp.baseAddress! + b * cols, qp.baseAddress! + b * rowBytes, count: cols) }
            }
        }
        return Case(rows: rows, cols: cols, weights: weights, x: x, q: q)
    }

    /// The single dot products (`vecDot`, and `batchVecDot` of a batch of 8: the tiled order)
    /// equal the model on random blocks, at 1, 6 and 19 blocks.
    @Test(arguments: formats)
    func dotProductsFollowTheModel(_ f: QuantFormat) {
        #if arch(x86_64)
        #expect(kernelsUseAVX2)
        #endif
        for cols in [256, 1536, 4864] {
            let c = Self.makeCase(f, rows: 6, cols: cols, batch: 3, seed: UInt64(cols))
            let rowBytes = f.rowBytes(cols), aBytes = QuantFormat.q8_K.rowBytes(cols)
            c.weights.withUnsafeBufferPointer { wp in
                c.q.withUnsafeBufferPointer { qp in
                    for r in 0..<c.rows {
                        for b in 0..<3 {
                            let w = wp.baseAddress! + r * rowBytes, a = qp.baseAddress! + b * aBytes
                            let lone = vecDot(f, count: cols, w, a)
                            let tiled = batchVecDot(f, count: cols, w, a, row: b, batch: 8, rows: c.rows)
                            let lone7 = batchVecDot(f, count: cols, w, a, row: b, batch: 7, rows: c.rows)
                            #expect(lone.bitPattern == Self.model(f, w, a, n: cols, tiled: false).bitPattern, "\(f) \(cols) row \(r) col \(b): vec_dot order")
                            #expect(lone7.bitPattern == lone.bitPattern, "\(f) \(cols): a batch of 7 keeps the vec_dot order")
                            #expect(tiled.bitPattern == Self.model(f, w, a, n: cols, tiled: true).bitPattern, "\(f) \(cols) row \(r) col \(b): tiled order")
                        }
                    }
                }
            }
        }
    }

    /// Every path of `matmul` (1 and 2 threads, multi-column kernels, AVX2 forced) gives the
    /// model's bits for the order of its batch size: vec_dot below 8 rows, tiled from 8.
    @Test(arguments: formats)
    func matmulFollowsTheModel(_ f: QuantFormat) {
        let cols = 1536, rows = 11
        let pool1 = ThreadPool(threads: 1), pool2 = ThreadPool(threads: 2)
        for batch in [1, 2, 4, 5, 7, 8, 9, 16] {
            let c = Self.makeCase(f, rows: rows, cols: cols, batch: batch, seed: 99 + UInt64(batch))
            var want = [Float](repeating: 0, count: batch * rows)
            c.weights.withUnsafeBufferPointer { wp in
                c.q.withUnsafeBufferPointer { qp in
                    for b in 0..<batch {
                        for r in 0..<rows {
                            want[b * rows + r] = Self.model(f, wp.baseAddress! + r * f.rowBytes(cols), qp.baseAddress! + b * QuantFormat.q8_K.rowBytes(cols),
                                                            n: cols, tiled: batch >= 8)
                        }
                    }
                }
            }
            c.weights.withUnsafeBytes { raw in
                let w = WeightMatrix(format: f, rows: rows, cols: cols, base: raw.baseAddress!)
                expectMatmulBits(w, c.x, batch: batch, want, "\(f) batch \(batch)", pools: (pool1, pool2))
            }
        }
    }

    /// The model's two orders differ from each other and from element-by-element summation on
    /// these inputs, so the tests above can fail.
    @Test(arguments: formats)
    func theOrdersAreDistinct(_ f: QuantFormat) {
        let cols = 1536
        let c = Self.makeCase(f, rows: 8, cols: cols, batch: 2, seed: 7)
        var vecVsNaive = 0, vecVsTiled = 0, exactMisses = 0
        c.weights.withUnsafeBufferPointer { wp in
            c.q.withUnsafeBufferPointer { qp in
                for r in 0..<8 {
                    for b in 0..<2 {
                        let w = wp.baseAddress! + r * f.rowBytes(cols), a = qp.baseAddress! + b * QuantFormat.q8_K.rowBytes(cols)
                        let v = Self.model(f, w, a, n: cols, tiled: false), t = Self.model(f, w, a, n: cols, tiled: true)
                        let n = Self.naive(f, w, a, n: cols)
                        if v != n { vecVsNaive += 1 }
                        if v != t { vecVsTiled += 1 }
                        // Both are sums of the same exact products: close to the exact value.
                        var exact = 0.0, mag = 0.0
                        for e in 0..<cols {
                            let yb = UnsafeRawPointer(a + (e / 256) * 292)
                            let y = Double(yb.loadUnaligned(as: Float.self)) * Double(yb.load(fromByteOffset: 4 + e % 256, as: Int8.self))
                            let x = refElement(f, w + (e / 256) * f.blockBytes, e % 256)
                            exact += x * y
                            mag += abs(x * y)
                        }
                        if abs(Double(v) - exact) > 1e-5 * mag || abs(Double(t) - exact) > 1e-5 * mag { exactMisses += 1 }
                    }
                }
            }
        }
        #expect(vecVsNaive > 0, "\(f): the vec_dot model equals naive summation on all 16 dots")
        #expect(vecVsTiled > 0, "\(f): the vec_dot and tiled models agree on all 16 dots")
        #expect(exactMisses == 0, "\(f): \(exactMisses) of 16 model dots are far from the exact sum")
    }
}
