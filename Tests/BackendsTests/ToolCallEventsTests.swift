@testable import Backends
import Testing

/// How one choice's generated text becomes backend events when tools are offered.
@Suite struct ToolCallEventsTests {
    static func events(_ tokens: [String], toolNames: [String]?, finish: ChoiceFinishReason = .stop) async -> [BackendEvent] {
        let (stream, continuation) = AsyncThrowingStream<BackendEvent, any Error>.makeStream()
        var output = ChoiceOutput(choice: 2, toolNames: toolNames, continuation: continuation)
        for t in tokens { output.text(t, logprobs: nil, tokens: 1) }
        output.finish(finish)
        continuation.finish()
        var out: [BackendEvent] = []
        do { for try await e in stream { out.append(e) } } catch {}
        return out
    }

    static let tokens = ["Sure", ".", "<tool_call>", "\n{\"name\": \"add\",", " \"arguments\": {\"a\": 1}}", "\n</tool_call>", "\n",
                         "<tool_call>", "{\"name\": \"add\", \"arguments\": {}}", "</tool_call>"]

    @Test func callsBecomeEventsAndTheFinishReasonIsToolCalls() async {
        let events = await Self.events(Self.tokens, toolNames: ["add"])
        var text = ""
        var counted = 0
        var calls: [(Int, ToolCall)] = []
        for e in events {
            switch e {
            case let .text(choice, t, _, n):
                #expect(choice == 2)
                text += t
                counted += n
            case let .toolCall(choice, index, call):
                #expect(choice == 2)
                calls.append((index, call))
            default: break
            }
        }
        #expect(text == "Sure.")
        #expect(counted == Self.tokens.count)  // every token is still counted once
        #expect(calls.map(\.0) == [0, 1])
        #expect(calls.map(\.1.arguments) == ["{\"a\": 1}", "{}"])
        #expect(events.last == .finish(choice: 2, reason: .toolCalls))
    }

    @Test func withoutToolsTextPassesThrough() async {
        let events = await Self.events(Self.tokens, toolNames: nil, finish: .length)
        #expect(events.count == Self.tokens.count + 1)
        #expect(events.first == .text(choice: 2, text: "Sure", logprobs: nil, tokens: 1))
        #expect(events.last == .finish(choice: 2, reason: .length))
    }

    @Test func noCallKeepsTheReason() async {
        let events = await Self.events(["Hello", " <tool", "box>"], toolNames: ["add"])
        #expect(events.last == .finish(choice: 2, reason: .stop))
        let text = events.compactMap { if case let .text(_, t, _, _) = $0 { t } else { nil } }.joined()
        #expect(text == "Hello <toolbox>")
    }
}
