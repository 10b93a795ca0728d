import Backends
import Testing

/// Random mixes of tags, fences and JSON fragments: the parser always ends, gives the same
/// result however the text is cut, and loses no text when it finds no call.
@Suite struct ToolCallParserFuzzTests {
    static let pieces = [
        "<tool_call>", "</tool_call>", "<|python_tag|>", "```json\n", "```", "{", "}", "[", "]", "\"", "\\", ":", ",", " ", "\n",
        "name", "\"name\": \"add\"", "\"arguments\": {}", "{\"name\": \"add\", \"arguments\": {\"a\": 1}}", "x", "<tool", "é",
    ]

    /// A small deterministic generator (SplitMix64).
    struct Rng {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(n))
        }
    }

    static func run(_ chunks: [String]) -> [ToolCallPiece] {
        var parser = ToolCallParser(toolNames: ["add"])
        var out: [ToolCallPiece] = []
        for c in chunks { out += parser.feed(c) }
        return out + parser.finish()
    }

    /// Content joined, calls as name(arguments): ids differ between runs.
    static func summary(_ pieces: [ToolCallPiece]) -> String {
        var out = ""
        var open = false  // a streamed call's arguments are being written
        for p in pieces {
            if open, case .arguments = p {} else if open {
                out += ")⟩"
                open = false
            }
            switch p {
            case .content(let s): out += s
            case .call(let c): out += "⟨\(c.name)(\(c.arguments))⟩"
            case .callStart(let c):
                out += "⟨\(c.name)("
                open = true
            case .arguments(let a): out += a
            }
        }
        return out + (open ? ")⟩" : "")
    }

    @Test func randomTexts() {
        var rng = Rng(state: 42)
        for _ in 0..<2000 {
            let text = (0..<(1 + rng.next(14))).map { _ in Self.pieces[rng.next(Self.pieces.count)] }.joined()
            let whole = Self.run([text])
            let byCharacter = Self.run(text.map { String($0) })
            #expect(Self.summary(whole) == Self.summary(byCharacter), "\(text.debugDescription)")
            if !whole.contains(where: { if case .content = $0 { false } else { true } }) {
                #expect(Self.summary(whole) == text, "\(text.debugDescription)")
            }
        }
    }
}
