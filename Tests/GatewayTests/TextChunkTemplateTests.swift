@testable import Gateway
import Testing

/// The streamed text chunks written from a template are byte for byte the chunks the JSON tree
/// gives, for any text.
@Suite struct TextChunkTemplateTests {
    static let texts = [
        "", "Hello", " world", "\"quoted\" and \\slashed\\", "line\nbreak\ttab\r", "\u{0}\u{1f}\u{7f}",
        "héllo wörld", "日本語", "🙂👍🏽", "</script>", "studio-text-slot-7f3a9c",
    ]

    @Test(arguments: [ResponseKind.chat, .completion], [false, true])
    func templateEqualsTree(kind: ResponseKind, includeUsage: Bool) throws {
        let shaper = ResponseShaper(kind: kind, model: "m\"odel", logprobs: false)
        for choice in 0..<3 {
            let template = try #require(TextChunkTemplate(shaper: shaper, choice: choice, includeUsage: includeUsage))
            for text in Self.texts {
                let tree = JSONText.encode(shaper.textChunk(
                    choice: choice, text: text, logprob: nil, textOffset: 0, includeUsage: includeUsage))
                #expect(template.event(text) == "data: " + tree + "\n\n", "choice \(choice) text \(text.debugDescription)")
            }
        }
    }
}
