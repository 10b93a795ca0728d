// F32 vector operations used by the model forward passes. All pointer-based; the output
// pointer comes first where there is one, and may alias an input unless stated otherwise.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CKernels

/// Sum of a[i] * b[i], i in 0..<count.
@inlinable
public func dotF32(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 32 <= count {
        let a0 = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        let b0 = rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        let a1 = ra.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD16<Float>.self)
        let b1 = rb.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD16<Float>.self)
        acc0.addProduct(a0, b0)
        acc1.addProduct(a1, b1)
        i += 32
    }
    while i + 16 <= count {
        let a0 = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        let b0 = rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        acc0.addProduct(a0, b0)
        i += 16
    }
    var sum = (acc0 + acc1).sum()
    while i < count {
        sum += a[i] * b[i]
        i += 1
    }
    return sum
}

/// Sum of x[i], i in 0..<count.
@inlinable
public func sumF32(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var acc = SIMD16<Float>()
    var i = 0
    let r = UnsafeRawPointer(x)
    while i + 16 <= count {
        acc += r.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        i += 16
    }
    var s = acc.sum()
    while i < count { s += x[i]; i += 1 }
    return s
}

/// out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i]. `weight` may be nil (no scaling).
/// `out` may alias `x`.
///
/// Rounded as ggml's CPU `rms_norm` rounds (small models amplify last-bit differences): each
/// square is a Float, summed in order in Double; the mean is rounded to Float before eps is added;
/// then out = (x * scale) * weight.
public func rmsNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, count n: Int, eps: Float) {
    var ss = 0.0
    for i in 0..<n { ss += Double(x[i] * x[i]) }
    let mean = Float(ss / Double(n))
    let scale = 1 / (mean + eps).squareRoot()
    if let weight {
        var i = 0
        let rx = UnsafeRawPointer(x), rw = UnsafeRawPointer(weight), ro = UnsafeMutableRawPointer(out)
        while i + 16 <= n {
            let v = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            let g = rw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            ro.storeBytes(of: v * scale * g, toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n { out[i] = x[i] * scale * weight[i]; i += 1 }
    } else {
        scale_(out, x, scale, n)
    }
}

/// Layer normalization: out[i] = (x[i] - mean) / sqrt(var + eps) * weight[i] + bias[i].
/// `weight`/`bias` may be nil. `out` may alias `x`.
public func layerNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, count n: Int, eps: Float) {
    let mean = sumF32(x, count: n) / Float(n)
    var v: Float = 0
    for i in 0..<n { let d = x[i] - mean; v += d * d }
    let inv = 1 / (v / Float(n) + eps).squareRoot()
    for i in 0..<n {
        var r = (x[i] - mean) * inv
        if let weight { r *= weight[i] }
        if let bias { r += bias[i] }
        out[i] = r
    }
}

@inline(__always)
func scale_(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ s: Float, _ n: Int) {
    var i = 0
    let rx = UnsafeRawPointer(x), ro = UnsafeMutableRawPointer(out)
    while i + 16 <= n {
        let v = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        ro.storeBytes(of: v * s, toByteOffset: i * 4, as: SIMD16<Float>.self)
        i += 16
    }
    while i < n { out[i] = x[i] * s; i += 1 }
}

/// e^x for 8 lanes, within a few ulp of `expf` over the float range (Cody-Waite range
/// reduction, degree-6 polynomial). Inputs are clamped to about ±88.4, so large negative
/// inputs give 0 (or a tiny value) and large positive ones give about 2.4e38, never inf/NaN.
@inlinable @inline(__always)
public func simdExp(_ xIn: SIMD8<Float>) -> SIMD8<Float> {
    let x = xIn.clamped(lowerBound: SIMD8(repeating: -88.3762626647949), upperBound: SIMD8(repeating: 88.3762626647949))
    let magic = SIMD8<Float>(repeating: 12_582_912)  // 1.5 * 2^23: adding it rounds to an integer (nearest even)
    let t = x * 1.44269504088896341 + magic
    let n = t - magic
    var r = x - n * 0.693359375
    r = r + n * 2.12194440e-4
    var p = SIMD8<Float>(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let y = p * (r * r) + r + 1
    // 2^n from the integer sitting in t's low mantissa bits; n in -128...128 after the clamp,
    // split in two factors so that neither exponent leaves the normal range.
    let ni = SIMD8<Int32>(truncatingIfNeeded: t.bitPattern(as: SIMD8<UInt32>.self) &- 0x4B40_0000)
    let n1 = ni &>> 1, n2 = ni &- n1
    let s1 = SIMD8<Float>(bitPattern: SIMD8<UInt32>(truncatingIfNeeded: (n1 &+ 127) &<< 23))
    let s2 = SIMD8<Float>(bitPattern: SIMD8<UInt32>(truncatingIfNeeded: (n2 &+ 127) &<< 23))
    return y * s1 * s2
}

extension SIMD8 where Scalar == Float {
    @inlinable @inline(__always)
    func bitPattern(as _: SIMD8<UInt32>.Type) -> SIMD8<UInt32> {
        unsafeBitCast(self, to: SIMD8<UInt32>.self)
    }
    @inlinable @inline(__always)
    init(bitPattern v: SIMD8<UInt32>) { self = unsafeBitCast(v, to: SIMD8<Float>.self) }
}

/// out[i] = x[i] * s. `out` may alias `x`.
public func scale(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, by s: Float, count n: Int) {
    scale_(out, x, s, n)
}

/// In-place softmax over x[0..<n] (max-subtracted, so safe for large logits; -inf entries become 0;
/// a row with no finite entry becomes all zeros).
public func softmax(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    if n <= 0 { return }
    var m = -Float.infinity
    for i in 0..<n where x[i] > m { m = x[i] }
    if m == -.infinity {  // everything masked: no finite logit; return zeros rather than NaN
        x.update(repeating: 0, count: n)
        return
    }
    var s: Float = 0
    var i = 0
    let raw = UnsafeMutableRawPointer(x)
    var acc = SIMD8<Float>()
    let vm = SIMD8<Float>(repeating: m)
    while i + 8 <= n {
        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        // exp(-inf) must be exactly 0 (masked positions): the clamp would make it tiny instead.
        let e = simdExp(v - vm).replacing(with: 0, where: v .== -.infinity)
        raw.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
        acc += e
        i += 8
    }
    s = acc.sum()
    while i < n {
        let e = expf(x[i] - m)
        x[i] = e
        s += e
        i += 1
    }
    let inv = 1 / s
    scale_(x, x, inv, n)
}

/// e^x for 8 lanes, rounded exactly as ggml's vectorized `expf` on x86 AVX2 (the Arm
/// optimized-routines method: n = round(x / ln 2) by the 1.5·2^23 shifter, a two-part ln 2
/// reduction, a degree-5 polynomial evaluated with FMAs in a fixed order, and a scale by 2^n
/// with a two-factor path when |n| > 126). Within about 1.5 ulp of `expf`; above ~88.4 gives
/// inf, below ~-104 gives 0. ggml's SiLU uses it, and small models amplify its last-bit
/// differences from other exponentials, so the SiLU kernels here do too.
@inlinable @inline(__always)
public func expLikeGGML(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let shifter = SIMD8<Float>(repeating: 0x1.8p23)
    let z = shifter.addingProduct(x, SIMD8(repeating: 0x1.715476p+0))
    let n = z - shifter
    let b = x.addingProduct(-n, SIMD8(repeating: 0x1.62e4p-1)).addingProduct(-n, SIMD8(repeating: 0x1.7f7d1cp-20))
    let zBits = unsafeBitCast(z, to: SIMD8<UInt32>.self)
    let e = zBits &<< 23
    let k = unsafeBitCast(e &+ 0x3F80_0000, to: SIMD8<Float>.self)
    let u = b * b
    let high = SIMD8<Float>(repeating: 0x1.573e2ep-5).addingProduct(SIMD8(repeating: 0x1.0e4020p-7), b)
    let low = SIMD8<Float>(repeating: 0x1.fffdb6p-2).addingProduct(SIMD8(repeating: 0x1.555e66p-3), b)
    let j = (SIMD8<Float>(repeating: 0x1.ffffecp-1) * b).addingProduct(low.addingProduct(high, u), u)
    let magnitude = unsafeBitCast(unsafeBitCast(n, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
    let big = magnitude .> 126
    if !any(big) { return k.addingProduct(j, k) }
    // |n| > 126: 2^n as two factors s1 * s2 (s1 * s1 alone past |n| > 192, which over/underflows).
    let g = SIMD8<UInt32>(repeating: 0).replacing(with: 0x8200_0000, where: n .<= 0)
    let s1 = unsafeBitCast(g &+ 0x7F00_0000, to: SIMD8<Float>.self)
    let s2 = unsafeBitCast(e &- g, to: SIMD8<Float>.self)
    var r = k.addingProduct(j, k)
    r.replace(with: s2.addingProduct(s2, j) * s1, where: big)
    r.replace(with: s1 * s1, where: magnitude .> 192)
    return r
}

/// out[i] = x[i] * sigmoid(x[i]). `out` may alias `x`.
public func silu(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
    var i = 0
    let rx = UnsafeRawPointer(x), ro = UnsafeMutableRawPointer(out)
    while i + 8 <= n {
        let v = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        ro.storeBytes(of: v / (1 + expLikeGGML(0 - v)), toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n {
        let v = x[i]
        out[i] = v / (1 + expf(-v))
        i += 1
    }
}

/// SwiGLU: out[i] = silu(gate[i]) * up[i]. `out` may alias either input.
public func siluMul(_ out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count n: Int) {
    var i = 0
    let rg = UnsafeRawPointer(gate), ru = UnsafeRawPointer(up), ro = UnsafeMutableRawPointer(out)
    while i + 8 <= n {
        let g = rg.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        let u = ru.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        ro.storeBytes(of: g / (1 + expLikeGGML(0 - g)) * u, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n {
        let g = gate[i]
        out[i] = g / (1 + expf(-g)) * up[i]
        i += 1
    }
}

/// GELU, tanh approximation: 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))), computed as the
/// identical x * sigmoid(2z). (ggml's CPU backend by default rounds GELU through an F16 table;
/// this is the exact formula; `geluTanhMulF16Table` is the rounded one.) `out` may alias `x`.
public func geluTanh(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
    geluTanhCore(out, x, nil, n)
}

/// GeGLU: out[i] = geluTanh(gate[i]) * up[i]. `out` may alias either input.
public func geluTanhMul(_ out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count n: Int) {
    geluTanhCore(out, gate, up, n)
}

/// GeGLU as llama.cpp's CPU backend computes it: out[i] = G(gate[i]) * up[i], where G is the
/// tanh GELU looked up in a table of F16 results indexed by the F16 rounding of its input (0 at or
/// below -10, the identity at or above 10). The rounding moves small models' log-probabilities by
/// several hundredths, so the models use this one. `out` may alias either input.
public func geluTanhMulF16Table(_ out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count n: Int) {
    geluF16Table.withUnsafeBufferPointer { table in
        for i in 0..<n {
            let g = gate[i]
            let v: Float
            if g <= -10 {
                v = 0
            } else if g >= 10 {
                v = g
            } else {
                v = fp16ToFloat(table[Int(floatToFp16(g))])
            }
            out[i] = v * up[i]
        }
    }
}

/// geluF16Table[h] = F16 bits of the tanh GELU of the F16 value with bits h, in Float arithmetic.
let geluF16Table: [UInt16] = (0..<65536).map { h in
    let x = fp16ToFloat(UInt16(h))
    let inner: Float = fmaf(0.044_715 * x, x, 1)
    let t = tanhf(0.797_884_560_802_865_4 * x * inner)
    return floatToFp16(0.5 * x * (1 + t))
}

@inline(__always)
func geluTanhCore(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ up: UnsafePointer<Float>?, _ n: Int) {
    let c: Float = 0.797_884_560_802_865_4  // sqrt(2/pi)
    var i = 0
    let rx = UnsafeRawPointer(x), ro = UnsafeMutableRawPointer(out)
    while i + 8 <= n {
        let v = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        let z = c * v * (1 + 0.044715 * v * v)
        var r = v / (1 + simdExp(-2 * z))
        if let up { r *= UnsafeRawPointer(up).loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) }
        ro.storeBytes(of: r, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n {
        let v = x[i]
        var r = 0.5 * v * (1 + tanhf(c * v * (1 + 0.044715 * v * v)))
        if let up { r *= up[i] }
        out[i] = r
        i += 1
    }
}

/// GELU, exact erf form: 0.5x(1 + erf(x/sqrt 2)). `out` may alias `x`.
public func geluErf(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
    for i in 0..<n {
        let v = x[i]
        out[i] = 0.5 * v * (1 + erff(v * 0.707_106_781_186_547_5))
    }
}

/// out[i] = a[i] + b[i]. `out` may alias either input.
public func add(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) {
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b), ro = UnsafeMutableRawPointer(out)
    while i + 16 <= n {
        let va = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        let vb = rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        ro.storeBytes(of: va + vb, toByteOffset: i * 4, as: SIMD16<Float>.self)
        i += 16
    }
    while i < n { out[i] = a[i] + b[i]; i += 1 }
}

/// out[i] = a[i] * b[i]. `out` may alias either input.
public func mul(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) {
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b), ro = UnsafeMutableRawPointer(out)
    while i + 16 <= n {
        let va = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        let vb = rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        ro.storeBytes(of: va * vb, toByteOffset: i * 4, as: SIMD16<Float>.self)
        i += 16
    }
    while i < n { out[i] = a[i] * b[i]; i += 1 }
}

/// y[i] += a * x[i] (axpy). Used e.g. for attention value accumulation.
public func addScaled(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ a: Float, count n: Int) {
    var i = 0
    let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
    let va = SIMD16<Float>(repeating: a)
    while i + 16 <= n {
        var vy = ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        vy.addProduct(va, rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
        ry.storeBytes(of: vy, toByteOffset: i * 4, as: SIMD16<Float>.self)
        i += 16
    }
    while i < n { y[i] += a * x[i]; i += 1 }
}

/// Convert `count` F32 values to F16 bits (round to nearest even).
public func f32ToF16(_ out: UnsafeMutablePointer<UInt16>, _ x: UnsafePointer<Float>, count n: Int) {
    ck_f32_to_f16(x, out, Int64(n))
}

/// Convert `count` F16 bit patterns to F32.
public func f16ToF32(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<UInt16>, count n: Int) {
    ck_f16_to_f32(x, out, Int64(n))
}

/// Sum of a[i] * fp16(b[i]) — dot of an F32 vector with an F16 vector (e.g. a query against
/// an F16 KV-cache row).
public func dotF32F16(_ a: UnsafePointer<Float>, _ b: UnsafePointer<UInt16>, count n: Int) -> Float {
    ck_vec_dot_f16_f32(Int64(n), b, a)
}

/// y[i] += a * fp16(x[i]) — axpy with an F16 source (e.g. attention-weighted V from an F16 cache).
public func addScaledF16(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<UInt16>, _ a: Float, count n: Int) {
    for i in 0..<n { y[i] += a * fp16ToFloat(x[i]) }
}
