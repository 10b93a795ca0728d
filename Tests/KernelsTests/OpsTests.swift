import Testing
import Kernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct OpsTests {
    @Test func rmsNormMatchesReference() {
        var rng = SplitMix64(seed: 11)
        let n = 903
        let x = randomFloats(n, rng: &rng, scale: 4)
        let w = randomFloats(n, rng: &rng)
        var out = [Float](repeating: 0, count: n)
        rmsNorm(&out, x, weight: w, count: n, eps: 1e-6)
        let ms = x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(n)
        let s = 1 / (ms + 1e-6).squareRoot()
        for i in 0..<n { #expect(abs(Double(out[i]) - Double(x[i]) * s * Double(w[i])) < 1e-5) }
        // in place
        var y = x
        y.withUnsafeMutableBufferPointer { p in rmsNorm(p.baseAddress!, p.baseAddress!, weight: w, count: n, eps: 1e-6) }
        #expect(y == out)
    }

    @Test func softmaxMatchesReference() {
        var rng = SplitMix64(seed: 12)
        let n = 333
        var x = randomFloats(n, rng: &rng, scale: 30)
        x[5] = -.infinity
        let m = x.max()!
        let e = x.map { Foundation_exp(Double($0 - m)) }
        let s = e.reduce(0, +)
        softmax(&x, count: n)
        for i in 0..<n { #expect(abs(Double(x[i]) - e[i] / s) < 1e-6) }
        #expect(x[5] == 0)
        var masked: [Float] = [-.infinity, -.infinity, -.infinity]
        softmax(&masked, count: 3)
        #expect(masked == [0, 0, 0])
    }

    @Test func simdExpAccuracy() {
        var worst = 0.0
        var x: Float = -87
        while x < 88 {
            let v = SIMD8<Float>(repeating: x) + SIMD8<Float>(0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07)
            let e = simdExp(v)
            for k in 0..<8 {
                let ref = Foundation_exp(Double(v[k]))
                worst = max(worst, abs(Double(e[k]) - ref) / ref)
            }
            x += 0.173
        }
        #expect(worst < 4e-7, "relative error \(worst)")
        let extremes = simdExp(SIMD8<Float>(-1000, -.infinity, 1000, .infinity, 0, -88.5, 88.5, 1))
        #expect(extremes[0] < 1e-37 && extremes[1] < 1e-37 && extremes[4] == 1)
        #expect(extremes[2].isFinite && extremes[3].isFinite && extremes[2] > 1e38)
    }

    @Test func activations() {
        let xs: [Float] = [-6, -1, -0.5, 0, 0.3, 1, 2.5, 8, -100, 100, -15, 15, 0.001, -3, 7, 4, 2] + (0..<40).map { Float($0) * 0.37 - 7 }
        var out = [Float](repeating: 0, count: xs.count)
        silu(&out, xs, count: xs.count)
        for i in 0..<xs.count {
            let r = Double(xs[i]) / (1 + Foundation_exp(-Double(xs[i])))
            #expect(abs(Double(out[i]) - r) <= 1e-6 * max(1, abs(r)), "silu(\(xs[i]))")
        }
        geluTanh(&out, xs, count: xs.count)
        for i in 0..<xs.count {
            let v = Double(xs[i])
            let r = 0.5 * v * (1 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)))
            #expect(abs(Double(out[i]) - r) <= 2e-6 * max(1, abs(r)), "gelu(\(v))")
        }
        let up: [Float] = xs.indices.map { Float($0 % 9) - 4 }
        siluMul(&out, gate: xs, up: up, count: xs.count)
        for i in 0..<xs.count {
            let r = Double(xs[i]) / (1 + Foundation_exp(-Double(xs[i]))) * Double(up[i])
            #expect(abs(Double(out[i]) - r) <= 2e-6 * max(1, abs(r)))
        }
        var gm = [Float](repeating: 0, count: xs.count)
        geluTanhMul(&gm, gate: xs, up: up, count: xs.count)
        var g = [Float](repeating: 0, count: xs.count)
        geluTanh(&g, xs, count: xs.count)
        for i in 0..<xs.count { #expect(gm[i] == g[i] * up[i]) }
    }

    @Test func elementwiseAndDots() {
        var rng = SplitMix64(seed: 13)
        let n = 1037
        let a = randomFloats(n, rng: &rng), b = randomFloats(n, rng: &rng)
        var o = [Float](repeating: 0, count: n)
        add(&o, a, b, count: n)
        for i in 0..<n { #expect(o[i] == a[i] + b[i]) }
        mul(&o, a, b, count: n)
        for i in 0..<n { #expect(o[i] == a[i] * b[i]) }
        let d = dotF32(a, b, count: n)
        let ref = (0..<n).reduce(0.0) { $0 + Double(a[$1]) * Double(b[$1]) }
        #expect(abs(Double(d) - ref) < 1e-4)
        var h = [UInt16](repeating: 0, count: n)
        f32ToF16(&h, b, count: n)
        let dh = dotF32F16(a, h, count: n)
        let refh = (0..<n).reduce(0.0) { $0 + Double(a[$1]) * Double(fp16ToFloat(h[$1])) }
        #expect(abs(Double(dh) - refh) < 1e-4)
        var y = a
        addScaled(&y, b, 0.5, count: n)
        for i in 0..<n { #expect(y[i] == a[i] + 0.5 * b[i]) }
    }
}

@inline(__always) func Foundation_exp(_ x: Double) -> Double { exp(x) }
