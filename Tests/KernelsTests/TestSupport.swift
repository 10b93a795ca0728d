import Kernels
import Testing

/// Deterministic SplitMix64 generator for reproducible random blocks.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Byte offsets of the f16 scale fields in one block, and whether they may be negative.
func halfFields(_ f: QuantFormat) -> [(offset: Int, signed: Bool)] {
    switch f {
    case .q4_0, .q5_0, .q8_0: return [(0, true)]
    case .q4_1, .q5_1: return [(0, false), (2, true)]
    case .q2_K: return [(80, false), (82, false)]
    case .q3_K: return [(108, true)]
    case .q4_K, .q5_K: return [(0, false), (2, false)]
    case .q6_K: return [(208, true)]
    default: return []
    }
}

/// `blocks` random blocks of format `f`: random bytes, with sane f16 scales.
func randomBlocks(_ f: QuantFormat, blocks: Int, rng: inout SplitMix64) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: blocks * f.blockBytes)
    for i in 0..<bytes.count { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
    func putHalf(_ v: Float, at o: Int) {
        let h = floatToFp16(v)
        bytes[o] = UInt8(h & 0xff)
        bytes[o + 1] = UInt8(h >> 8)
    }
    switch f {
    case .f32:
        for i in 0..<blocks {
            let v = Float.random(in: -1...1, using: &rng)
            withUnsafeBytes(of: v) { for k in 0..<4 { bytes[i * 4 + k] = $0[k] } }
        }
    case .f16:
        for i in 0..<blocks { putHalf(Float.random(in: -1...1, using: &rng), at: i * 2) }
    case .bf16:
        for i in 0..<blocks {
            let h = floatToBf16(Float.random(in: -1...1, using: &rng))
            bytes[i * 2] = UInt8(h & 0xff)
            bytes[i * 2 + 1] = UInt8(h >> 8)
        }
    default:
        for b in 0..<blocks {
            for (o, signed) in halfFields(f) {
                var v = Float.random(in: 0.002...0.05, using: &rng)
                if signed && Bool.random(using: &rng) { v = -v }
                putHalf(v, at: b * f.blockBytes + o)
            }
        }
    }
    return bytes
}

func randomFloats(_ n: Int, rng: inout SplitMix64, scale: Float = 1) -> [Float] {
    (0..<n).map { _ in Float.random(in: -scale...scale, using: &rng) }
}

// MARK: - Reference dequantizers: one element at a time, straight from the format description.

func refHalf(_ b: UnsafePointer<UInt8>, _ o: Int) -> Double {
    Double(fp16ToFloat(UInt16(b[o]) | UInt16(b[o + 1]) << 8))
}

/// Element `e` of the block at `b`.
func refElement(_ f: QuantFormat, _ b: UnsafePointer<UInt8>, _ e: Int) -> Double {
    func nibble16(_ qs: UnsafePointer<UInt8>) -> Int {  // 32-element blocks: low nibbles first
        e < 16 ? Int(qs[e] & 15) : Int(qs[e - 16] >> 4)
    }
    switch f {
    case .f32:
        return Double(UnsafeRawPointer(b).loadUnaligned(as: Float.self))
    case .f16:
        return refHalf(b, 0)
    case .bf16:
        return Double(Float(bitPattern: (UInt32(b[0]) | UInt32(b[1]) << 8) << 16))
    case .q4_0:
        return Double(nibble16(b + 2) - 8) * refHalf(b, 0)
    case .q4_1:
        return Double(nibble16(b + 4)) * refHalf(b, 0) + refHalf(b, 2)
    case .q5_0:
        let qh = UInt32(b[2]) | UInt32(b[3]) << 8 | UInt32(b[4]) << 16 | UInt32(b[5]) << 24
        let h = Int((qh >> UInt32(e)) & 1)
        return Double(nibble16(b + 6) + 16 * h - 16) * refHalf(b, 0)
    case .q5_1:
        let qh = UInt32(b[4]) | UInt32(b[5]) << 8 | UInt32(b[6]) << 16 | UInt32(b[7]) << 24
        let h = Int((qh >> UInt32(e)) & 1)
        return Double(nibble16(b + 8) + 16 * h) * refHalf(b, 0) + refHalf(b, 2)
    case .q8_0:
        return Double(Int8(bitPattern: b[2 + e])) * refHalf(b, 0)
    case .q8_1:
        return Double(Int8(bitPattern: b[4 + e])) * refHalf(b, 0)
    case .q8_K:
        return Double(UnsafeRawPointer(b).loadUnaligned(as: Float.self)) * Double(Int8(bitPattern: b[4 + e]))
    case .q2_K:
        let n = e / 128, j = (e % 128) / 32, l = e % 32, g = e / 16
        let q = Int(b[16 + 32 * n + l] >> UInt8(2 * j)) & 3
        let sc = b[g]
        return refHalf(b, 80) * Double(sc & 15) * Double(q) - refHalf(b, 82) * Double(sc >> 4)
    case .q3_K:
        let n = e / 128, j = (e % 128) / 32, l = e % 32, g = e / 16
        let low = Int(b[32 + 32 * n + l] >> UInt8(2 * j)) & 3
        let high = Int(b[l] >> UInt8(4 * n + j)) & 1
        let s = b + 96
        let lo4 = g < 8 ? Int(s[g] & 15) : Int(s[g - 8] >> 4)
        let hi2 = Int(s[8 + g % 4] >> UInt8(2 * (g / 4))) & 3
        let scale = (lo4 | hi2 << 4) - 32
        return refHalf(b, 108) * Double(scale) * Double(low + 4 * high - 4)
    case .q4_K, .q5_K:
        let s = e / 32, j = e / 64, l = e % 32, upper = (e % 64) >= 32
        let qs = b + (f == .q4_K ? 16 : 48)
        var q = upper ? Int(qs[32 * j + l] >> 4) : Int(qs[32 * j + l] & 15)
        if f == .q5_K { q += 16 * (Int(b[16 + l] >> UInt8(s)) & 1) }
        let p = b + 4
        let sc: Int, mn: Int
        if s < 4 {
            sc = Int(p[s] & 63); mn = Int(p[s + 4] & 63)
        } else {
            sc = Int(p[s + 4] & 15) | Int(p[s - 4] >> 6) << 4
            mn = Int(p[s + 4] >> 4) | Int(p[s] >> 6) << 4
        }
        return refHalf(b, 0) * Double(sc) * Double(q) - refHalf(b, 2) * Double(mn)
    case .q6_K:
        let n = e / 128, k = (e % 128) / 32, l = e % 32
        let qlByte = b[64 * n + 32 * (k % 2) + l]
        let low4 = k < 2 ? Int(qlByte & 15) : Int(qlByte >> 4)
        let hi2 = Int(b[128 + 32 * n + l] >> UInt8(2 * k)) & 3
        let sc = Int(Int8(bitPattern: b[192 + e / 16]))
        return refHalf(b, 208) * Double(sc) * Double((low4 | hi2 << 4) - 32)
    }
}

func refDequantize(_ f: QuantFormat, _ bytes: [UInt8], count: Int) -> [Double] {
    bytes.withUnsafeBufferPointer { p in
        (0..<count).map { i in
            let blk = i / f.blockSize
            return refElement(f, p.baseAddress! + blk * f.blockBytes, i % f.blockSize)
        }
    }
}

/// Plain Swift activation quantizer (the semantics ggml's x86 backend uses).
func refQuantize(_ f: QuantFormat, _ x: [Float]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: f.rowBytes(x.count))
    func putHalf(_ v: Float, _ o: Int) {
        let h = floatToFp16(v)
        out[o] = UInt8(h & 0xff); out[o + 1] = UInt8(h >> 8)
    }
    let bs = f.blockSize
    for blk in 0..<(x.count / bs) {
        let xs = Array(x[(blk * bs)..<((blk + 1) * bs)])
        let o = blk * f.blockBytes
        switch f {
        case .q8_0, .q8_1:
            let amax = xs.map { abs($0) }.max()!
            let d = amax / 127
            let id: Float = amax != 0 ? 127 / amax : 0
            let q = xs.map { Int(($0 * id).rounded(.toNearestOrEven)) }
            let qo = f == .q8_0 ? 2 : 4
            for j in 0..<32 { out[o + qo + j] = UInt8(bitPattern: Int8(q[j])) }
            putHalf(d, o)
            if f == .q8_1 { putHalf(d * Float(q.reduce(0, +)), o + 2) }
        case .q8_K:
            var amax: Float = 0, mx: Float = 0
            for v in xs where abs(v) > amax { amax = abs(v); mx = v }
            if amax == 0 { continue }
            let iscale = -127 / mx
            let q = xs.map { min(127, Int((iscale * $0).rounded(.toNearestOrEven))) }
            for j in 0..<256 { out[o + 4 + j] = UInt8(bitPattern: Int8(q[j])) }
            for g in 0..<16 {
                let s = Int16(q[(16 * g)..<(16 * g + 16)].reduce(0, +))
                out[o + 260 + 2 * g] = UInt8(UInt16(bitPattern: s) & 0xff)
                out[o + 261 + 2 * g] = UInt8(UInt16(bitPattern: s) >> 8)
            }
            withUnsafeBytes(of: 1 / iscale) { for k in 0..<4 { out[o + k] = $0[k] } }
        default:
            fatalError()
        }
    }
    return out
}

let weightFormats: [QuantFormat] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

/// `matmul` of `w` with `batch` activation rows `x` on one thread, on two, and with only the AVX2
/// kernels: each must give `want`'s bits.
func expectMatmulBits(_ w: WeightMatrix, _ x: [Float], batch: Int, _ want: [Float], _ label: String,
                      pools: (one: ThreadPool, two: ThreadPool)) {
    for (name, pool, avx2Only) in [("1 thread", pools.one, false), ("2 threads", pools.two, false), ("AVX2 only", pools.one, true)] {
        var y = [Float](repeating: .nan, count: batch * w.rows)
        forceAVX2Kernels(avx2Only)
        matmul(w, x, &y, batch: batch, pool: pool)
        forceAVX2Kernels(false)
        #expect(y.map(\.bitPattern) == want.map(\.bitPattern), "\(label), \(name)")
    }
}
