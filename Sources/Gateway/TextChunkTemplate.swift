import ChatTemplates

/// A streamed text chunk of one choice, encoded once with a marker in place of the text and split
/// around it: each token's chunk is then `prefix + quoted text + suffix`, byte for byte what
/// encoding `ResponseShaper.textChunk` would give, without building and encoding a JSON tree per
/// token. (Chunks with logprobs still go through the tree.)
struct TextChunkTemplate {
    private let prefix: String
    private let suffix: String
    private static let marker = "studio-text-slot-7f3a9c"

    init?(shaper: ResponseShaper, choice: Int, includeUsage: Bool) {
        let whole = JSONText.encode(shaper.textChunk(
            choice: choice, text: Self.marker, logprob: nil, textOffset: 0, includeUsage: includeUsage))
        let quotedMarker = JSONString.quoted(Self.marker)
        guard let range = whole.range(of: quotedMarker) else { return nil }
        prefix = "data: " + whole[..<range.lowerBound]
        suffix = whole[range.upperBound...] + "\n\n"
    }

    /// The SSE event carrying `text`.
    func event(_ text: String) -> String {
        var out = prefix
        out.reserveCapacity(prefix.utf8.count + text.utf8.count + suffix.utf8.count + 8)
        JSONString.append(text, to: &out)
        out += suffix
        return out
    }
}
