// Token bytes to text without half characters: a token may end in the middle of a multi-byte
// UTF-8 character (byte-level BPE splits emoji and CJK characters across tokens; SentencePiece
// uses byte tokens), so the incomplete tail is held back until the bytes that finish it arrive.
// Invalid bytes become U+FFFD, as String(decoding:) does.

/// Assembles UTF-8 text from a stream of byte chunks.
public struct UTF8Assembler: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// Adds bytes; returns the text made of all complete characters so far (possibly empty).
    public mutating func append<C: Collection<UInt8>>(_ bytes: C) -> String {
        pending.append(contentsOf: bytes)
        let end = pending.count - Self.incompleteSuffixLength(pending)
        guard end > 0 else { return "" }
        let text = String(decoding: pending[0..<end], as: UTF8.self)
        pending.removeFirst(end)
        return text
    }

    /// Returns what is left at the end of the stream; an unfinished character becomes U+FFFD.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// Bytes held back, waiting for the rest of a character.
    public var pendingByteCount: Int { pending.count }

    /// How many bytes at the end are the valid beginning of a character that still lacks bytes.
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
        default: return 0  // ASCII, or a byte that can never start a character: nothing to wait for
        }
        guard continuation < needed else { return 0 }
        if continuation >= 1 {
            // Prefixes that can never complete (overlong forms, surrogates, past U+10FFFF).
            let second = bytes[i + 1]
            switch lead {
            case 0xE0 where second < 0xA0, 0xED where second > 0x9F, 0xF0 where second < 0x90, 0xF4 where second > 0x8F:
                return 0
            default: break
            }
        }
        return continuation + 1
    }
}
