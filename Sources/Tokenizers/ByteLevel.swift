// GPT-2's byte-to-unicode alphabet: byte-level BPE vocabularies spell every byte as one printable
// character, so that token texts are valid UTF-8 even when a token holds part of a character.
// Printable Latin-1 bytes stand for themselves; the other 68 bytes map to U+0100, U+0101, … in order.

enum ByteLevel {
    /// The character that stands for each byte.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The UTF-8 encoding of each byte's character (1 or 2 bytes).
    static let byteToUTF8: [[UInt8]] = byteToScalar.map { Array(String(Character(Unicode.Scalar($0)!)).utf8) }

    /// The byte each alphabet character stands for, indexed by scalar value (0 ..< 324); -1 if none.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (b, s) in byteToScalar.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// Decodes a byte-level token text to the bytes it stands for; nil if a character is outside
    /// the alphabet (then the text is not a byte-level spelling).
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars {
            let v = Int(s.value)
            guard v < scalarToByte.count, scalarToByte[v] >= 0 else { return nil }
            out.append(UInt8(scalarToByte[v]))
        }
        return out
    }

    /// Encodes raw bytes in the alphabet (as UTF-8).
    static func encode<S: Sequence<UInt8>>(_ bytes: S) -> [UInt8] {
        var out: [UInt8] = []
        for b in bytes { out.append(contentsOf: byteToUTF8[Int(b)]) }
        return out
    }
}
