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
        var calls: [ToolCall] = []
        for e in events {
            switch e {
            case let .text(choice, t, _, n):
                #expect(choice == 2)
                text += t
                counted += n
            case let .toolCall(choice, index, call):
                #expect(choice == 2)
                if index == calls.count { calls.append(call) } else { calls[index].arguments += call.arguments }
            default: break
            }
        }
        #expect(text == "Sure.")
        #expect(counted == Self.tokens.count)  // every token is still counted once
        #expect(calls.map(\.arguments) == ["{\"a\": 1}", "{}"])
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

    /// Parallel calls written token by token: every call starts with an event of a new index
    /// (id, name, empty arguments), then its argument fragments follow under the same index and
    /// id, more than one per call; joined, they are the arguments the parser finds in one go.
    @Test func parallelCallsStreamTheirArgumentsUnderTheirIndex() async throws {
        let text = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>\n"
            + "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Tokyo\"}}\n</tool_call>"
        // Pieces of 3 characters, as a tokenizer might cut it.
        var tokens: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            tokens.append(String(rest.prefix(3)))
            rest = rest.dropFirst(3)
        }
        let events = await Self.events(tokens, toolNames: ["get_weather"])
        var calls: [ToolCall] = []
        var fragments: [Int] = []
        for case let .toolCall(_, index, call) in events {
            if index == calls.count {
                #expect(call.arguments == "" && call.id.hasPrefix("call_"))
                calls.append(call)
                fragments.append(0)
            } else {
                #expect(index == calls.count - 1)  // fragments of the latest call only
                #expect(call.id == calls[index].id && call.name == calls[index].name)
                calls[index].arguments += call.arguments
                fragments[index] += 1
            }
        }
        var parser = ToolCallParser(toolNames: ["get_weather"])
        let whole = (parser.feed(text) + parser.finish()).compactMap { p -> String? in
            if case .arguments(let a) = p { a } else { nil }
        }
        #expect(calls.map(\.arguments) == whole)
        #expect(calls.map(\.arguments) == ["{\"city\": \"Paris\", \"unit\": \"celsius\"}", "{\"city\": \"Tokyo\"}"])
        #expect(fragments.allSatisfy { $0 > 5 })
        #expect(Set(calls.map(\.id)).count == 2)
        #expect(events.last == .finish(choice: 2, reason: .toolCalls))
    }

    /// A call cut short by max_tokens keeps the generation's finish reason.
    @Test func aCallCutShortKeepsTheReason() async {
        let events = await Self.events(["<tool_call>{\"name\": \"add\", \"arguments\": {\"a\": ", "12"], toolNames: ["add"], finish: .length)
        #expect(events.last == .finish(choice: 2, reason: .length))
    }
}
