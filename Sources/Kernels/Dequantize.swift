// Dequantization of one row of blocks to F32, following ggml's `dequantize_row_*` arithmetic
// (same float operation order, so results are bit-identical to ggml's scalar reference).

@inline(__always) @usableFromInline
func _half(_ p: UnsafePointer<UInt8>, _ offset: Int) -> Float {
    fp16ToFloat(UnsafeRawPointer(p + offset).loadUnaligned(as: UInt16.self))
}

/// Unpack the 6-bit scale `j` and min `j` (j in 0..<8) of a Q4_K/Q5_K block's 12-byte scale field.
@inline(__always) @usableFromInline
func _scaleMinK4(_ j: Int, _ q: UnsafePointer<UInt8>) -> (UInt8, UInt8) {
    if j < 4 {
        return (q[j] & 63, q[j + 4] & 63)
    } else {
        let d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4)
        let m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4)
        return (d, m)
    }
}

/// Unpack the sixteen 6-bit scales of a Q3_K block (as signed values, bias 32 removed).
@inline(__always) @usableFromInline
func _q3kScales(_ s: UnsafePointer<UInt8>) -> SIMD16<Int8> {
    var out = SIMD16<Int8>()
    for i in 0..<16 {
        let lo = i < 8 ? (s[i] & 0xF) : (s[i - 8] >> 4)
        let hi = (s[8 + (i & 3)] >> (2 * (i >> 2))) & 3
        out[i] = Int8(bitPattern: lo | (hi << 4)) &- 32
    }
    return out
}

/// Dequantize `count` elements (a whole number of blocks) of `format` from `src` into `dst`.
public func dequantizeRow(_ format: QuantFormat, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    precondition(count % format.blockSize == 0, "dequantizeRow: count \(count) not a multiple of \(format) block size")
    let nb = count / format.blockSize
    let bb = format.blockBytes
    let base = src.assumingMemoryBound(to: UInt8.self)
    switch format {
    case .f32:
        UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: count * 4)
    case .f16:
        f16ToF32(dst, src.assumingMemoryBound(to: UInt16.self), count: count)
    case .bf16:
        let s = src.assumingMemoryBound(to: UInt16.self)
        for i in 0..<count { dst[i] = bf16ToFloat(s[i]) }
    case .q4_0:
        for i in 0..<nb {
            let b = base + i * bb
            let d = _half(b, 0)
            let qs = b + 2
            let y = dst + i * 32
            for j in 0..<16 {
                y[j] = Float(Int32(qs[j] & 0xF) - 8) * d
                y[j + 16] = Float(Int32(qs[j] >> 4) - 8) * d
            }
        }
    case .q4_1:
        for i in 0..<nb {
            let b = base + i * bb
            let d = _half(b, 0), m = _half(b, 2)
            let qs = b + 4
            let y = dst + i * 32
            for j in 0..<16 {
                y[j] = Float(qs[j] & 0xF) * d + m
                y[j + 16] = Float(qs[j] >> 4) * d + m
            }
        }
    case .q5_0:
        for i in 0..<nb {
            let b = base + i * bb
            let d = _half(b, 0)
            let qh = UnsafeRawPointer(b + 2).loadUnaligned(as: UInt32.self)
            let qs = b + 6
            let y = dst + i * 32
            for j in 0..<16 {
                let h0 = Int32(((qh >> UInt32(j)) << 4) & 0x10)
                let h1 = Int32((qh >> UInt32(j + 12)) & 0x10)
                y[j] = Float((Int32(qs[j] & 0xF) | h0) - 16) * d
                y[j + 16] = Float((Int32(qs[j] >> 4) | h1) - 16) * d
            }
        }
    case .q5_1:
        for i in 0..<nb {
            let b = base + i * bb
            let d = _half(b, 0), m = _half(b, 2)
            let qh = UnsafeRawPointer(b + 4).loadUnaligned(as: UInt32.self)
            let qs = b + 8
            let y = dst + i * 32
            for j in 0..<16 {
                let h0 = Int32(((qh >> UInt32(j)) << 4) & 0x10)
                let h1 = Int32((qh >> UInt32(j + 12)) & 0x10)
                y[j] = Float(Int32(qs[j] & 0xF) | h0) * d + m
                y[j + 16] = Float(Int32(qs[j] >> 4) | h1) * d + m
            }
        }
    case .q8_0:
        for i in 0..<nb {
            let b = base + i * bb
            let d = _half(b, 0)
            let y = dst + i * 32
            for j in 0..<32 { y[j] = Float(Int8(bitPattern: b[2 + j])) * d }
        }
    case .q8_1:
        for i in 0..<nb {
            let b = base + i * bb
            let d = _half(b, 0)
            let y = dst + i * 32
            for j in 0..<32 { y[j] = Float(Int8(bitPattern: b[4 + j])) * d }
        }
    case .q8_K:
        for i in 0..<nb {
            let b = base + i * bb
            let d = UnsafeRawPointer(b).loadUnaligned(as: Float.self)
            let y = dst + i * 256
            for j in 0..<256 { y[j] = d * Float(Int8(bitPattern: b[4 + j])) }
        }
    case .q2_K:
        for i in 0..<nb {
            let b = base + i * bb
            let scales = b, qs = b + 16
            let d = _half(b, 80), dmin = _half(b, 82)
            let y = dst + i * 256
            for n in 0..<2 {
                let q = qs + 32 * n
                for j in 0..<4 {
                    let shift = UInt8(2 * j)
                    for half in 0..<2 {
                        let sc = scales[8 * n + 2 * j + half]
                        let dl = d * Float(sc & 0xF)
                        let ml = dmin * Float(sc >> 4)
                        for l in (16 * half)..<(16 * half + 16) {
                            y[128 * n + 32 * j + l] = dl * Float((q[l] >> shift) & 3) - ml
                        }
                    }
                }
            }
        }
    case .q3_K:
        for i in 0..<nb {
            let b = base + i * bb
            let hmask = b, qs = b + 32
            let sc = _q3kScales(b + 96)
            let dAll = _half(b, 108)
            let y = dst + i * 256
            for n in 0..<2 {
                let q = qs + 32 * n
                for j in 0..<4 {
                    let shift = UInt8(2 * j)
                    let m = UInt8(1) << UInt8(4 * n + j)
                    for half in 0..<2 {
                        let dl = dAll * Float(sc[8 * n + 2 * j + half])
                        for l in (16 * half)..<(16 * half + 16) {
                            let v = Int32((q[l] >> shift) & 3) - ((hmask[l] & m) != 0 ? 0 : 4)
                            y[128 * n + 32 * j + l] = dl * Float(v)
                        }
                    }
                }
            }
        }
    case .q4_K:
        for i in 0..<nb {
            let b = base + i * bb
            let d = _half(b, 0), dmin = _half(b, 2)
            let scales = b + 4, qs = b + 16
            let y = dst + i * 256
            for j in 0..<4 {
                let (s1, m1) = _scaleMinK4(2 * j, scales)
                let (s2, m2) = _scaleMinK4(2 * j + 1, scales)
                let d1 = d * Float(s1), mm1 = dmin * Float(m1)
                let d2 = d * Float(s2), mm2 = dmin * Float(m2)
                let q = qs + 32 * j
                let yy = y + 64 * j
                for l in 0..<32 {
                    yy[l] = d1 * Float(q[l] & 0xF) - mm1
                    yy[l + 32] = d2 * Float(q[l] >> 4) - mm2
                }
            }
        }
    case .q5_K:
        for i in 0..<nb {
            let b = base + i * bb
            let d = _half(b, 0), dmin = _half(b, 2)
            let scales = b + 4, qh = b + 16, qs = b + 48
            let y = dst + i * 256
            for j in 0..<4 {
                let (s1, m1) = _scaleMinK4(2 * j, scales)
                let (s2, m2) = _scaleMinK4(2 * j + 1, scales)
                let d1 = d * Float(s1), mm1 = dmin * Float(m1)
                let d2 = d * Float(s2), mm2 = dmin * Float(m2)
                let u1 = UInt8(1) << UInt8(2 * j), u2 = UInt8(2) << UInt8(2 * j)
                let q = qs + 32 * j
                let yy = y + 64 * j
                for l in 0..<32 {
                    yy[l] = d1 * Float(Int32(q[l] & 0xF) + ((qh[l] & u1) != 0 ? 16 : 0)) - mm1
                    yy[l + 32] = d2 * Float(Int32(q[l] >> 4) + ((qh[l] & u2) != 0 ? 16 : 0)) - mm2
                }
            }
        }
    case .q6_K:
        for i in 0..<nb {
            let b = base + i * bb
            let d = _half(b, 208)
            let y = dst + i * 256
            for n in 0..<2 {
                let ql = b + 64 * n, qh = b + 128 + 32 * n
                let sc = UnsafeRawPointer(b + 192 + 8 * n).assumingMemoryBound(to: Int8.self)
                let yy = y + 128 * n
                for l in 0..<32 {
                    let s = l / 16
                    let q1 = Int32((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32
                    let q2 = Int32((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32
                    let q3 = Int32((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32
                    let q4 = Int32((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32
                    yy[l] = d * Float(sc[s]) * Float(q1)
                    yy[l + 32] = d * Float(sc[s + 2]) * Float(q2)
                    yy[l + 64] = d * Float(sc[s + 4]) * Float(q3)
                    yy[l + 96] = d * Float(sc[s + 6]) * Float(q4)
                }
            }
        }
    }
}
