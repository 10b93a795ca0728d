import Testing
import Kernels

@Suite struct FormatTests {
    @Test func blockGeometry() {
        let expected: [QuantFormat: (Int, Int)] = [
            .f32: (1, 4), .f16: (1, 2), .bf16: (1, 2), .q4_0: (32, 18), .q4_1: (32, 20), .q5_0: (32, 22),
            .q5_1: (32, 24), .q8_0: (32, 34), .q8_1: (32, 36), .q2_K: (256, 84), .q3_K: (256, 110),
            .q4_K: (256, 144), .q5_K: (256, 176), .q6_K: (256, 210), .q8_K: (256, 292),
        ]
        for f in QuantFormat.allCases {
            #expect(f.blockSize == expected[f]!.0, "\(f)")
            #expect(f.blockBytes == expected[f]!.1, "\(f)")
        }
        #expect(QuantFormat.q4_K.rowBytes(4864) == 19 * 144)
        #expect(QuantFormat(rawValue: 12) == .q4_K)
        #expect(QuantFormat(rawValue: 30) == .bf16)
    }

    @Test func halfConversionExhaustive() {
        for h in 0...UInt16.max {
            let f = fp16ToFloat(h)
            let isNaN = (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0
            if isNaN {
                #expect(f.isNaN)
                continue
            }
            // Compare with the portable bit-level decoder, then round trip.
            let exp = Int((h >> 10) & 0x1f), man = Double(h & 0x3ff)
            var v: Double = exp == 0 ? man * 0x1p-24 : (exp == 31 ? .infinity : (1 + man / 1024) * Double(sign: .plus, exponent: exp - 15, significand: 1))
            if h & 0x8000 != 0 { v = -v }
            #expect(Double(f) == v, "h=\(h)")
            #expect(floatToFp16(f) == h, "h=\(h)")
        }
    }

    @Test func halfRoundingMatchesBulkConversion() {
        var rng = SplitMix64(seed: 7)
        var xs: [Float] = []
        for _ in 0..<20000 {
            let e = Int.random(in: -30...17, using: &rng)
            xs.append(Float(sign: Bool.random(using: &rng) ? .minus : .plus, exponent: e, significand: Float.random(in: 1..<2, using: &rng)))
        }
        xs += [65504, 65519.99, 65520, 1e-8, 5.96e-8, 2.98e-8, 2.99e-8, 0, -0, .infinity]
        var bulk = [UInt16](repeating: 0, count: xs.count)
        f32ToF16(&bulk, xs, count: xs.count)
        for (i, x) in xs.enumerated() {
            let s = floatToFp16(x)
            #expect(bulk[i] == s, "x=\(x)")
            // Nearest-even: the chosen half is at least as close as its neighbours.
            let d = abs(Double(fp16ToFloat(s)) - Double(x))
            if s & 0x7fff < 0x7bff && s & 0x7fff > 0 {
                #expect(d <= abs(Double(fp16ToFloat(s + 1)) - Double(x)))
                #expect(d <= abs(Double(fp16ToFloat(s - 1)) - Double(x)))
            }
        }
        var back = [Float](repeating: 0, count: xs.count)
        f16ToF32(&back, bulk, count: xs.count)
        for i in 0..<xs.count { #expect(back[i] == fp16ToFloat(bulk[i])) }
    }

    @Test func bf16Conversion() {
        #expect(bf16ToFloat(floatToBf16(1.0)) == 1.0)
        #expect(floatToBf16(Float(bitPattern: 0x3f80_8000)) == 0x3f80)  // tie -> even
        #expect(floatToBf16(Float(bitPattern: 0x3f81_8000)) == 0x3f82)  // tie -> even
        #expect(floatToBf16(Float(bitPattern: 0x3f80_8001)) == 0x3f81)
        #expect(bf16ToFloat(floatToBf16(.nan)).isNaN)
    }
}

@Suite struct DequantizeTests {
    @Test(arguments: [QuantFormat.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K])
    func dequantizeMatchesReference(_ f: QuantFormat) {
        var rng = SplitMix64(seed: 0x5EED ^ UInt64(f.rawValue))
        let blocks = f.blockSize == 1 ? 512 : 12
        let count = blocks * f.blockSize
        var bytes = randomBlocks(f, blocks: blocks, rng: &rng)
        if f == .q8_K {  // give the float scale a sane value
            for b in 0..<blocks {
                let d = Float.random(in: 0.001...0.02, using: &rng)
                withUnsafeBytes(of: d) { for k in 0..<4 { bytes[b * 292 + k] = $0[k] } }
            }
        }
        if f == .q8_1 {
            for b in 0..<blocks {
                let h = floatToFp16(0.01)
                bytes[b * 36] = UInt8(h & 0xff); bytes[b * 36 + 1] = UInt8(h >> 8)
            }
        }
        let ref = refDequantize(f, bytes, count: count)
        var out = [Float](repeating: .nan, count: count)
        bytes.withUnsafeBytes { raw in dequantizeRow(f, raw.baseAddress!, &out, count: count) }
        var worst = 0.0
        for i in 0..<count {
            let err = abs(Double(out[i]) - ref[i])
            let tol = 1e-6 * max(1, abs(ref[i]))
            if err > tol { worst = max(worst, err) }
        }
        #expect(worst == 0, "\(f): max error beyond tolerance \(worst)")
    }
}

@Suite struct ActivationQuantizationTests {
    @Test(arguments: [QuantFormat.q8_0, .q8_1, .q8_K])
    func quantizerMatchesReference(_ f: QuantFormat) {
        for scalar in [false, true] {
            forceScalarKernels(scalar)
            defer { forceScalarKernels(false) }
            checkQuantizer(f, scalar: scalar)
        }
    }

    func checkQuantizer(_ f: QuantFormat, scalar: Bool) {
        var rng = SplitMix64(seed: 99 ^ UInt64(f.rawValue))
        let n = 1024
        var x = randomFloats(n, rng: &rng, scale: 3)
        // include an all-zero block and exact ties
        for i in 0..<f.blockSize { x[i] = 0 }
        x[f.blockSize] = 127; x[f.blockSize + 1] = 0.5; x[f.blockSize + 2] = 1.5; x[f.blockSize + 3] = -2.5
        // a block whose extreme appears twice with opposite signs (Q8_K takes the first)
        x[3 * f.blockSize + 5] = -9; x[3 * f.blockSize + 9] = 9
        x[2 * f.blockSize + 5] = 9; x[2 * f.blockSize + 9] = -9
        let ref = refQuantize(f, x)
        var out = [UInt8](repeating: 0xAA, count: f.rowBytes(n))
        out.withUnsafeMutableBytes { quantizeActivations(f, x, $0.baseAddress!, count: n) }
        #expect(out == ref, "\(f) scalar=\(scalar)")
    }
}

/// Checks a dot product against (a) the exact value with the activations quantized the same way
/// (only float summation order may differ) and (b) the unquantized value (Q8 rounding bound).
func checkDot(_ f: QuantFormat, got: Float, w: [Double], xq: [Double], x: [Float], actStep: [Double]) -> (Bool, String) {
    var exact = 0.0, absSum = 0.0, unq = 0.0, bound = 0.0
    for i in 0..<w.count {
        exact += w[i] * xq[i]
        absSum += abs(w[i] * xq[i])
        unq += w[i] * Double(x[i])
        bound += abs(w[i]) * actStep[i] * 0.5
    }
    let tolExact = 2e-6 * absSum + 1e-6 + (f == .q4_1 || f == .q5_1 ? 1e-3 * absSum : 0)
    let ok1 = abs(Double(got) - exact) <= tolExact
    let ok2 = abs(Double(got) - unq) <= bound * 1.01 + tolExact + 1e-3 * absSum
    return (ok1 && ok2, "\(f): got \(got) exact \(exact) (tol \(tolExact)) unquantized \(unq) (bound \(bound))")
}

@Suite(.serialized) struct DotProductTests {
    static let formats = weightFormats

    func run(_ f: QuantFormat, scalar: Bool) {
        forceScalarKernels(scalar)
        defer { forceScalarKernels(false) }
        var rng = SplitMix64(seed: 1234 ^ UInt64(f.rawValue) ^ (scalar ? 0xFF00 : 0))
        for n in [256, 768, 4864] where n % f.blockSize == 0 {
            let wb = randomBlocks(f, blocks: n / f.blockSize, rng: &rng)
            let x = randomFloats(n, rng: &rng, scale: 2)
            let w = refDequantize(f, wb, count: n)
            var got: Float = 0
            var xq: [Double], steps: [Double]
            if let act = f.activationFormat {
                let qa = refQuantize(act, x)
                xq = refDequantize(act, qa, count: n)
                // step of the activation grid per element
                steps = (0..<n).map { i in
                    let b = i / act.blockSize
                    let lo = b * act.blockSize
                    let amax = x[lo..<(lo + act.blockSize)].map { abs(Double($0)) }.max()!
                    return amax / 127 * 1.002
                }
                got = wb.withUnsafeBytes { wp in qa.withUnsafeBytes { ap in vecDot(f, count: n, wp.baseAddress!, ap.baseAddress!) } }
            } else {
                xq = x.map(Double.init)
                steps = [Double](repeating: 0, count: n)
                got = wb.withUnsafeBytes { wp in x.withUnsafeBytes { ap in vecDot(f, count: n, wp.baseAddress!, ap.baseAddress!) } }
            }
            let (ok, msg) = checkDot(f, got: got, w: w, xq: xq, x: x, actStep: steps)
            #expect(ok, "n=\(n) scalar=\(scalar) \(msg)")
        }
    }

    @Test(arguments: formats) func avx2Dot(_ f: QuantFormat) { run(f, scalar: false) }
    @Test(arguments: formats) func scalarDot(_ f: QuantFormat) { run(f, scalar: true) }

    @Test func avx2IsActiveOnThisMachine() {
        #if arch(x86_64)
        #expect(kernelsUseAVX2)
        #endif
    }
}
