// Character classes for the pre-tokenizers, matching the regex classes llama.cpp and Hugging Face
// use: \p{L} (letters), \p{N} (numbers), \p{P} (punctuation) and \s (the Unicode White_Space
// property). Computed from Swift's Unicode tables; ASCII goes through a lookup table.

enum CharClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 4
    static let punctuation: UInt8 = 8
    /// Set for every real code point, so that "no character" (past the fragment) has flags 0.
    static let valid: UInt8 = 16

    static let ascii: [UInt8] = (0..<128).map { compute(UInt32($0)) }

    @inline(__always)
    static func of(_ cp: UInt32) -> UInt8 {
        cp < 128 ? ascii[Int(cp)] : compute(cp)
    }

    static func compute(_ cp: UInt32) -> UInt8 {
        guard let s = Unicode.Scalar(cp) else { return valid }
        let p = s.properties
        var f: UInt8 = valid | (p.isWhitespace ? whitespace : 0)
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            f |= letter
        case .decimalNumber, .letterNumber, .otherNumber:
            f |= number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            f |= punctuation
        default:
            break
        }
        return f
    }
}

/// A text fragment decoded into code points, with each code point's class and byte offset.
struct ScalarBuffer {
    var cps: [UInt32] = []
    var flags: [UInt8] = []
    /// offsets[i] = byte offset of code point i within the fragment; offsets[count] = byte length.
    var offsets: [Int32] = []

    var count: Int { cps.count }

    mutating func load(_ bytes: UnsafeBufferPointer<UInt8>) {
        cps.removeAll(keepingCapacity: true)
        flags.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        let n = bytes.count
        var i = 0
        while i < n {
            let b0 = UInt32(bytes[i])
            var cp: UInt32
            var len: Int
            // Input comes from Swift Strings, so it is valid UTF-8; a cut sequence (which cannot
            // happen) is taken byte by byte rather than read past the end.
            let need = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4
            if b0 < 0x80 || b0 < 0xC0 || i + need > n {
                cp = b0 < 0x80 ? b0 : 0xFFFD; len = 1
            } else if b0 < 0xE0 {
                cp = (b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F); len = 2
            } else if b0 < 0xF0 {
                cp = (b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F); len = 3
            } else {
                cp = (b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12 | UInt32(bytes[i + 2] & 0x3F) << 6
                    | UInt32(bytes[i + 3] & 0x3F)
                len = 4
            }
            cps.append(cp)
            flags.append(CharClass.of(cp))
            offsets.append(Int32(i))
            i += len
        }
        offsets.append(Int32(n))
    }
}
