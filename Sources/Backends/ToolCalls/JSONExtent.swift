// Finds where a JSON value that starts a text ends, without parsing it: the tool-call parser
// needs to know when a streamed `{…}` is complete before it tries to decode it.

enum JSONExtent {
    enum Result: Equatable {
        /// The value ends before this UTF-8 offset.
        case complete(end: Int)
        /// More text is needed.
        case incomplete
        /// The text cannot be the start of a JSON object or array.
        case invalid
    }

    /// Scans an object or array at the start of `bytes` (leading whitespace allowed): brackets
    /// are counted outside strings; the contents are checked later by the real parser.
    static func scan(_ bytes: some Collection<UInt8>) -> Result {
        var depth = 0
        var inString = false
        var escaped = false
        var started = false
        for (offset, b) in bytes.enumerated() {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                started = true
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard started else { return .invalid }
                depth -= 1
                if depth == 0 { return .complete(end: offset + 1) }
            case UInt8(ascii: "\""):
                guard started else { return .invalid }
                inString = true
            default:
                guard started else { return .invalid }
            }
        }
        return .incomplete
    }
}
