// Token bytes to text without half characters: a token may end in the middle of a multi-byte
// UTF-8 character (byte-level BPE splits emoji and CJK this way), so the incomplete tail is kept
// until the bytes that finish it arrive. Invalid bytes become U+FFFD, as String(decoding:) does.

/// Assembles UTF-8 text from a stream of byte chunks.
public struct StreamingUTF8Decoder: Sendable {
    private var tail: [UInt8] = []

    public init() {}

    /// Adds bytes; returns the text made of all complete characters so far.
    public mutating func append(_ bytes: [UInt8]) -> String {
        tail.append(contentsOf: bytes)
        let keep = Self.incompleteSuffixLength(tail)
        let end = tail.count - keep
        guard end > 0 else { return "" }
        let text = String(decoding: tail[0..<end], as: UTF8.self)
        tail.removeFirst(end)
        return text
    }

    /// Returns whatever is left at the end of the stream (an unfinished character becomes U+FFFD).
    public mutating func finish() -> String {
        defer { tail.removeAll() }
        return tail.isEmpty ? "" : String(decoding: tail, as: UTF8.self)
    }

    /// How many bytes at the end form the valid start of a character still missing bytes.
    static func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
        var i = bytes.count - 1
        var continuation = 0
        while i >= 0 && continuation < 3 && bytes[i] & 0xC0 == 0x80 {
            continuation += 1
            i -= 1
        }
        guard i >= 0 else { return 0 }
        let lead = bytes[i]
        let needed: Int
        switch lead {
        case 0xC2...0xDF: needed = 1
        case 0xE0...0xEF: needed = 2
        case 0xF0...0xF4: needed = 3
        default: return 0  // ASCII or an invalid lead byte: nothing to wait for.
        }
        guard continuation < needed else { return 0 }
        // Reject prefixes that can never become valid (overlongs, surrogates, > U+10FFFF).
        if continuation >= 1 {
            let second = bytes[i + 1]
            switch lead {
            case 0xE0 where second < 0xA0: return 0
            case 0xED where second > 0x9F: return 0
            case 0xF0 where second < 0x90: return 0
            case 0xF4 where second > 0x8F: return 0
            default: break
            }
        }
        return continuation + 1
    }
}
