// Incremental decoding for generation: ids in, only complete UTF-8 characters out.

/// Feed ids one at a time; each call returns only text made of complete characters.
public struct StreamingDecoder: Sendable {
    public let tokenizer: Tokenizer
    public let renderSpecial: Bool
    private var assembler = UTF8Assembler()

    public init(tokenizer: Tokenizer, renderSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
    }

    /// Adds one token; returns the newly completed text (possibly empty).
    public mutating func append(_ id: TokenID) -> String {
        assembler.append(tokenizer.tokenBytes(id, renderSpecial: renderSpecial))
    }

    /// Returns what is left at the end of the stream; an unfinished character becomes U+FFFD.
    public mutating func flush() -> String { assembler.finish() }

    /// Bytes held back, waiting for the rest of a character.
    public var pendingByteCount: Int { assembler.pendingByteCount }
}
