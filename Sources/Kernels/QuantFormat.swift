// Block-quantization formats used by GGUF / ggml, with their block geometry.
//
// Raw values match ggml's `ggml_type` numbering so a GGUF tensor-type field can be
// converted with `QuantFormat(rawValue:)`.

public enum QuantFormat: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q8_1 = 9
    case q2_K = 10
    case q3_K = 11
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case q8_K = 15
    case bf16 = 30

    /// Elements per block.
    @inlinable public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K: return 256
        }
    }

    /// Bytes per block.
    @inlinable public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18    // f16 d, 16 x nibble pairs
        case .q4_1: return 20    // f16 d, f16 m, 16 bytes
        case .q5_0: return 22    // f16 d, u32 high bits, 16 bytes
        case .q5_1: return 24    // f16 d, f16 m, u32 high bits, 16 bytes
        case .q8_0: return 34    // f16 d, 32 x i8
        case .q8_1: return 36    // f16 d, f16 s (= d * sum q), 32 x i8
        case .q2_K: return 84    // scales[16], qs[64], f16 d, f16 dmin
        case .q3_K: return 110   // hmask[32], qs[64], scales[12], f16 d
        case .q4_K: return 144   // f16 d, f16 dmin, scales[12], qs[128]
        case .q5_K: return 176   // f16 d, f16 dmin, scales[12], qh[32], qs[128]
        case .q6_K: return 210   // ql[128], qh[64], i8 scales[16], f16 d
        case .q8_K: return 292   // f32 d, i8 qs[256], i16 bsums[16]
        }
    }

    /// Bytes of one row of `columns` elements. `columns` must be a multiple of `blockSize`.
    @inlinable public func rowBytes(_ columns: Int) -> Int {
        precondition(columns % blockSize == 0, "\(self): \(columns) columns is not a multiple of block size \(blockSize)")
        return (columns / blockSize) * blockBytes
    }

    /// The activation format a weight of this format is multiplied with (as ggml's `vec_dot_type`),
    /// or nil when activations stay F32.
    @inlinable public var activationFormat: QuantFormat? {
        switch self {
        case .f32, .f16, .bf16: return nil
        case .q4_0, .q5_0, .q8_0: return .q8_0
        case .q4_1, .q5_1: return .q8_1
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: return .q8_K
        case .q8_1, .q8_K: return nil   // activation-only formats; not used as weights
        }
    }

    /// True for formats that can be a weight in `matmul`.
    @inlinable public var isWeightFormat: Bool { self != .q8_1 && self != .q8_K }

    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q8_1: return "Q8_1"
        case .q2_K: return "Q2_K"
        case .q3_K: return "Q3_K"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        case .q8_K: return "Q8_K"
        }
    }
}

// MARK: - Half-precision helpers

/// IEEE-754 binary16 bits to Float (exact; handles subnormals, inf, NaN).
@inlinable @inline(__always)
public func fp16ToFloat(_ h: UInt16) -> Float {
    #if arch(x86_64) && os(macOS)
    return _fp16ToFloatSoft(h)
    #else
    return Float(Float16(bitPattern: h))
    #endif
}

/// Float to IEEE-754 binary16 bits, round to nearest even (as F16C `vcvtps2ph` with mode 0).
@inlinable @inline(__always)
public func floatToFp16(_ f: Float) -> UInt16 {
    #if arch(x86_64) && os(macOS)
    return _floatToFp16Soft(f)
    #else
    return Float16(f).bitPattern
    #endif
}

/// bfloat16 bits to Float (exact).
@inlinable @inline(__always)
public func bf16ToFloat(_ h: UInt16) -> Float {
    Float(bitPattern: UInt32(h) << 16)
}

/// Float to bfloat16 bits, round to nearest even; NaN stays a quiet NaN (as ggml).
@inlinable @inline(__always)
public func floatToBf16(_ f: Float) -> UInt16 {
    let u = f.bitPattern
    if (u & 0x7fff_ffff) > 0x7f80_0000 { return UInt16(truncatingIfNeeded: (u >> 16) | 64) }
    return UInt16(truncatingIfNeeded: (u &+ (0x7fff &+ ((u >> 16) & 1))) >> 16)
}

@usableFromInline
func _fp16ToFloatSoft(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = UInt32(h >> 10) & 0x1f
    var man = UInt32(h) & 0x3ff
    if exp == 0 {
        if man == 0 { return Float(bitPattern: sign) }
        // subnormal: normalise
        var e: UInt32 = 127 - 15 + 1
        while man & 0x400 == 0 { man <<= 1; e -= 1 }
        man &= 0x3ff
        return Float(bitPattern: sign | (e << 23) | (man << 13))
    }
    if exp == 0x1f { return Float(bitPattern: sign | 0x7f80_0000 | (man << 13)) }
    return Float(bitPattern: sign | ((exp + 127 - 15) << 23) | (man << 13))
}

@usableFromInline
func _floatToFp16Soft(_ f: Float) -> UInt16 {
    let x = f.bitPattern
    let sign = UInt16((x >> 16) & 0x8000)
    let absx = x & 0x7fff_ffff
    if absx >= 0x7f80_0000 {  // inf or nan
        return sign | (absx > 0x7f80_0000 ? 0x7e00 : 0x7c00)
    }
    if absx >= 0x4780_0000 { return sign | 0x7c00 }  // >= 65536: overflow
    if absx < 0x3880_0000 {  // below smallest normal half (2^-14): subnormal or zero
        // value in units of 2^-24, round to nearest even
        let v = Float(bitPattern: absx) * 16_777_216.0  // exact scaling
        let r = v.rounded(.toNearestOrEven)
        return sign | UInt16(r)
    }
    // normal: round mantissa from 23 to 10 bits, nearest even
    let rounded = absx &+ 0x0fff &+ ((absx >> 13) & 1)
    let e = (rounded >> 23) &- 127 &+ 15
    if e >= 0x1f { return sign | 0x7c00 }
    return sign | UInt16(e << 10) | UInt16((rounded >> 13) & 0x3ff)
}
