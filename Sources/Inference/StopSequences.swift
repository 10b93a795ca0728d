// Stop strings in streamed text, with OpenAI's semantics: generation ends at the first
// occurrence of any stop string, the stop string itself is never returned, and text that could
// still turn out to be the start of a stop string is held back until the next token settles it.
// Matching is on UTF-8 bytes; since both the text and the stop strings are valid UTF-8, a match
// or a held-back tail always begins on a character boundary.

/// Watches streamed text for stop strings.
public struct StopSequences: Sendable {
    public let stops: [String]
    private let patterns: [[UInt8]]
    /// Text received but not yet released (a possible start of a stop string).
    private var pending: [UInt8] = []
    /// The stop string that ended the text, once one has.
    public private(set) var matched: String?

    public init(_ stops: [String]) {
        let stops = stops.filter { !$0.isEmpty }
        self.stops = stops
        self.patterns = stops.map { Array($0.utf8) }
    }

    /// Whether a stop string has been seen.
    public var isStopped: Bool { matched != nil }

    /// The text currently held back.
    public var heldBack: String { String(decoding: pending, as: UTF8.self) }

    /// Takes the next piece of text; returns the text that is now safe to emit. After a stop
    /// string is found it returns the text before it and ignores everything later.
    public mutating func append(_ text: String) -> String {
        guard matched == nil else { return "" }
        if patterns.isEmpty { return text }
        pending.append(contentsOf: text.utf8)

        // Earliest occurrence of any stop string (the longest wins at the same position).
        var hit: (at: Int, index: Int)?
        for (index, pattern) in patterns.enumerated() {
            if let at = Self.firstIndex(of: pattern, in: pending) {
                if hit == nil || at < hit!.at
                    || (at == hit!.at && pattern.count > patterns[hit!.index].count)
                {
                    hit = (at, index)
                }
            }
        }
        if let hit {
            matched = stops[hit.index]
            let out = String(decoding: pending[0..<hit.at], as: UTF8.self)
            pending.removeAll()
            return out
        }

        // Hold back the longest tail that is a proper prefix of some stop string.
        var hold = 0
        for pattern in patterns {
            var len = min(pattern.count - 1, pending.count)
            while len > hold {
                if pending.suffix(len).elementsEqual(pattern.prefix(len)) { break }
                len -= 1
            }
            hold = max(hold, len)
        }
        let emit = pending.count - hold
        let out = String(decoding: pending[0..<emit], as: UTF8.self)
        pending.removeFirst(emit)
        return out
    }

    /// Releases the held-back text once generation ends for another reason.
    public mutating func finish() -> String {
        guard matched == nil else { return "" }
        let out = String(decoding: pending, as: UTF8.self)
        pending.removeAll()
        return out
    }

    private static func firstIndex(of pattern: [UInt8], in text: [UInt8]) -> Int? {
        let m = pattern.count
        guard m > 0, text.count >= m else { return nil }
        let first = pattern[0]
        for start in 0...(text.count - m) where text[start] == first {
            var j = 1
            while j < m && text[start + j] == pattern[j] { j += 1 }
            if j == m { return start }
        }
        return nil
    }
}
