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
public func rmsNorm(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, count n: Int, eps: Float) {
    let ss = dotF32(x, x, count: n)
    let scale = 1 / (ss / Float(n) + eps).squareRoot()
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
    for i in 0..<n {
        let e = expf(x[i] - m)
        x[i] = e
        s += e
    }
    let inv = 1 / s
    scale_(x, x, inv, n)
}

/// out[i] = x[i] * sigmoid(x[i]). `out` may alias `x`.
public func silu(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
    for i in 0..<n {
        let v = x[i]
        out[i] = v / (1 + expf(-v))
    }
}

/// SwiGLU: out[i] = silu(gate[i]) * up[i]. `out` may alias either input.
public func siluMul(_ out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count n: Int) {
    for i in 0..<n {
        let g = gate[i]
        out[i] = g / (1 + expf(-g)) * up[i]
    }
}

/// GELU, tanh approximation (as ggml `gelu`): 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))).
/// `out` may alias `x`.
public func geluTanh(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
    let c: Float = 0.797_884_560_802_865_4  // sqrt(2/pi)
    for i in 0..<n {
        let v = x[i]
        out[i] = 0.5 * v * (1 + tanhf(c * v * (1 + 0.044715 * v * v)))
    }
}

/// GeGLU: out[i] = geluTanh(gate[i]) * up[i]. `out` may alias either input.
public func geluTanhMul(_ out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count n: Int) {
    let c: Float = 0.797_884_560_802_865_4
    for i in 0..<n {
        let v = gate[i]
        out[i] = 0.5 * v * (1 + tanhf(c * v * (1 + 0.044715 * v * v))) * up[i]
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
