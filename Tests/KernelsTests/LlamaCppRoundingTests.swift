import Testing
import Kernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The kernels that round as llama.cpp's CPU backend (AVX2 build) does, against plain scalar
/// descriptions of the same roundings, and against exact math within the rounding they add.
@Suite struct LlamaCppRoundingTests {
    @Test func expLikeGGMLIsAccurateAndSaturates() {
        var x: Float = -87
        while x < 88 {
            let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 0.041 })
            let e = expLikeGGML(lanes)
            for l in 0..<8 {
                let exact = exp(Double(lanes[l]))
                #expect(abs(Double(e[l]) - exact) <= 3e-7 * exact, "exp(\(lanes[l])) = \(e[l]), exact \(exact)")
            }
            x += 0.37
        }
        // Past the normal range: the two-factor scale path, then 0 and infinity.
        let edge = expLikeGGML(SIMD8<Float>(-95, -100, -110, -200, 88.5, 89, 100, 0))
        #expect(abs(Double(edge[0]) - exp(-95.0)) <= 1e-3 * exp(-95.0))
        #expect(edge[1] > 0 && edge[1] < 1e-43)
        #expect(edge[2] == 0 && edge[3] == 0)
        #expect(abs(Double(edge[4]) - exp(88.5)) <= 3e-7 * exp(88.5))
        #expect(edge[5] == .infinity && edge[6] == .infinity, "\(edge[5]) \(edge[6])")
        #expect(edge[7] == 1)
    }

    @Test func siluMulUsesTheGGMLExponential() {
        var rng = SplitMix64(seed: 31)
        let n = 37  // 4 vectors of 8 and a scalar tail
        let gate = randomFloats(n, rng: &rng, scale: 12), up = randomFloats(n, rng: &rng)
        var out = [Float](repeating: 0, count: n)
        siluMul(&out, gate: gate, up: up, count: n)
        for i in 0..<n {
            let g = gate[i]
            let expected: Float
            if i < 32 {
                let e = expLikeGGML(SIMD8<Float>(repeating: 0 - g))[0]
                expected = g / (1 + e) * up[i]
            } else {
                expected = g / (1 + expf(-g)) * up[i]
            }
            #expect(out[i] == expected, "silu(\(g)) * \(up[i])")
        }
    }

    @Test func geluTableRoundsInputAndOutputToHalf() {
        var rng = SplitMix64(seed: 32)
        var gate = randomFloats(200, rng: &rng, scale: 8)
        gate += [-10, -10.5, 10, 12, 0, -0.0]
        let up = [Float](repeating: 1.5, count: gate.count)
        var out = [Float](repeating: 0, count: gate.count)
        geluTanhMulF16Table(&out, gate: gate, up: up, count: gate.count)
        for (i, g) in gate.enumerated() {
            let expected: Float
            if g <= -10 {
                expected = 0
            } else if g >= 10 {
                expected = g * 1.5
            } else {
                let h = fp16ToFloat(floatToFp16(g))
                let gelu: Float = 0.5 * h * (1 + tanhf(0.797_884_560_802_865_4 * h * (1 + 0.044_715 * h * h)))
                expected = fp16ToFloat(floatToFp16(gelu)) * 1.5
            }
            #expect(out[i] == expected, "gelu(\(g))")
            // Within F16 rounding of the exact GELU.
            let exact = 0.5 * Double(g) * (1 + tanh(0.7978845608028654 * (Double(g) + 0.044715 * pow(Double(g), 3)))) * 1.5
            #expect(abs(Double(out[i]) - exact) <= 2e-3 * max(1, abs(exact)))
        }
    }

    /// F16-cache attention in `.llamaCpp` precision equals a scalar walk through ggml's flash
    /// attention (F16 query; scores summed as four 8-lane chains; online softmax; F16 value sum
    /// rounded after each key), bit for bit, with GQA and a sliding window; and it is within F16
    /// rounding of exact attention.
    /// Groups of 2 and 3 query heads per KV head: heads are processed in pairs plus a single one.
    @Test(arguments: [(4, 2), (6, 2)])
    func attentionRoundsAsLlamaCppFlashAttention(_ heads: Int, _ kvHeads: Int) {
        #expect(attentionPrecision == .llamaCpp)
        var rng = SplitMix64(seed: 33)
        let headDim = 64, valueDim = 64, batch = 3, first = 6, window = 5
        let rows = first + batch
        let scale: Float = 0.125
        let q = randomFloats(batch * heads * headDim, rng: &rng, scale: 3)
        let kf = randomFloats(rows * kvHeads * headDim, rng: &rng, scale: 3)
        let vf = randomFloats(rows * kvHeads * valueDim, rng: &rng, scale: 2)
        var k16 = [UInt16](repeating: 0, count: kf.count), v16 = [UInt16](repeating: 0, count: vf.count)
        f32ToF16(&k16, kf, count: kf.count)
        f32ToF16(&v16, vf, count: vf.count)
        let pool = ThreadPool(threads: 2)
        for window in [nil, window] as [Int?] {
            var out = [Float](repeating: 0, count: batch * heads * valueDim)
            k16.withUnsafeBytes { kb in
                v16.withUnsafeBytes { vb in
                    attention(output: &out, queries: q, batch: batch, firstPosition: first, keys: kb.baseAddress!, values: vb.baseAddress!,
                              format: .f16, heads: heads, kvHeads: kvHeads, headDim: headDim, valueDim: valueDim,
                              scale: scale, window: window, pool: pool)
                }
            }
            for b in 0..<batch {
                let position = first + b
                let lo = window.map { max(0, position - $0 + 1) } ?? 0
                for h in 0..<heads {
                    let kvh = h / (heads / kvHeads)
                    func key(_ t: Int, _ d: Int) -> Float { fp16ToFloat(k16[(t * kvHeads + kvh) * headDim + d]) }
                    func value(_ t: Int, _ d: Int) -> Float { fp16ToFloat(v16[(t * kvHeads + kvh) * valueDim + d]) }
                    let qh = (0..<headDim).map { fp16ToFloat(floatToFp16(q[(b * heads + h) * headDim + $0])) }
                    var m = -Float.infinity, s: Float = 0
                    var acc = [Float](repeating: 0, count: valueDim)
                    var exactScores: [Double] = []
                    for t in lo...position {
                        var lanes = [[Float]](repeating: [Float](repeating: 0, count: 8), count: 4)
                        for block in stride(from: 0, to: headDim, by: 32) {
                            for j in 0..<4 { for l in 0..<8 { lanes[j][l] = lanes[j][l].addingProduct(qh[block + 8 * j + l], key(t, block + 8 * j + l)) } }
                        }
                        let a = (0..<8).map { (lanes[0][$0] + lanes[2][$0]) + (lanes[1][$0] + lanes[3][$0]) }
                        let hsum = (0..<4).map { a[$0] + a[$0 + 4] }
                        let score = ((hsum[0] + hsum[1]) + (hsum[2] + hsum[3])) * scale
                        exactScores.append((0..<headDim).reduce(0.0) { $0 + Double(q[(b * heads + h) * headDim + $1]) * Double(key(t, $1)) } * Double(scale))
                        var weight: Float = 1
                        if score > m {
                            let r = expf(m - score)
                            for d in 0..<valueDim { acc[d] = fp16ToFloat(floatToFp16(acc[d] * r)) }
                            s = Float(1).addingProduct(s, r)
                            m = score
                        } else {
                            weight = expf(score - m)
                            s = weight.addingProduct(s, 1)
                        }
                        for d in 0..<valueDim { acc[d] = fp16ToFloat(floatToFp16(acc[d].addingProduct(value(t, d), weight))) }
                    }
                    let top = exactScores.max()!
                    let p = exactScores.map { exp($0 - top) }, total = p.reduce(0, +)
                    for d in 0..<valueDim {
                        let got = out[(b * heads + h) * valueDim + d]
                        #expect(got == acc[d] * (1 / s), "window \(String(describing: window)) token \(b) head \(h) dim \(d)")
                        let exact = (lo...position).enumerated().reduce(0.0) { $0 + p[$1.offset] / total * Double(value($1.element, d)) }
                        #expect(abs(Double(got) - exact) < 1e-2, "window \(String(describing: window)) token \(b) head \(h) dim \(d): \(got) vs \(exact)")
                    }
                }
            }
        }
    }
}
