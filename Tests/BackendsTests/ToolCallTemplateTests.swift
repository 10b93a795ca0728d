@testable import Backends
import ChatTemplates
import Foundation
import Testing

/// Assistant tool calls arrive from OpenAI clients with `arguments` as a JSON string; after
/// ToolMessages.prepared, Qwen2.5's template renders them exactly as transformers renders the
/// same conversation with object arguments (the shared reference fixtures).
@Suite struct ToolCallTemplateTests {
    static var qwenReference: URL {
        var dir = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("shared/reference/chat_templates/qwen2.5-coder-0.5b.json")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: "/work/shared/reference/chat_templates/qwen2.5-coder-0.5b.json")
    }

    /// The OpenAI wire shape of a message: tool-call arguments as JSON text.
    static func wire(_ message: TemplateValue) -> TemplateValue {
        guard case .object(var m) = message, case .array(let calls)? = m["tool_calls"] else { return message }
        m["tool_calls"] = .array(calls.map { call in
            guard case .object(var c) = call, case .object(var f)? = c["function"], let args = f["arguments"] else { return call }
            f["arguments"] = .string(args.jsonString)
            c["function"] = .object(f)
            return .object(c)
        })
        return .object(m)
    }

    @Test(arguments: ["tool_roundtrip", "parallel_tool_calls"])
    func stringArgumentsRenderLikeObjects(fixtureID: String) throws {
        let data = try Data(contentsOf: Self.qwenReference)
        guard case .object(let root) = try TemplateValue(jsonData: data), case .string(let source)? = root["template"],
              case .array(let fixtures)? = root["fixtures"] else { Issue.record("unexpected fixture layout"); return }
        let fixture = try #require(fixtures.compactMap { f -> TemplateObject? in
            if case .object(let o) = f, o["id"] == .string(fixtureID) { return o }
            return nil
        }.first)
        guard case .array(let messages)? = fixture["messages"], case .string(let expected)? = fixture["rendered"] else {
            Issue.record("fixture \(fixtureID) has no messages or rendering"); return
        }
        let onTheWire = messages.map(Self.wire)
        #expect(onTheWire != messages)  // the fixture does have object arguments to convert
        var context: [String: TemplateValue] = [:]
        for (k, v) in fixture.pairs where !["id", "rendered", "error", "messages"].contains(k) { context[k] = v }
        context["messages"] = .array(ToolMessages.prepared(onTheWire))
        #expect(try ChatTemplate(source).render(context) == expected)
    }
}
