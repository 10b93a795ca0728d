@testable import Backends
import ChatTemplates
import Inference
import Testing

@Suite struct ToolCallGrammarTests {
    static let weather = ToolFunction(
        name: "get_weather",
        parameters: #"{"type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["C", "F"]}}, "required": ["city"]}"#)
    static let add = ToolFunction(name: "add")

    static func matcher(_ functions: [ToolFunction], parallel: Bool) throws -> GrammarMatcher {
        let text = try ToolCallGrammar.gbnf(functions: functions, parallel: parallel)
        return GrammarMatcher(grammar: try GrammarSpec.gbnf(text).compile())
    }

    @Test func acceptsAQwenCallValidAgainstTheSchema() throws {
        var m = try Self.matcher([Self.weather, Self.add], parallel: false)
        let ok1 = m.accept("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"C\"}}\n</tool_call>")
        #expect(ok1)
        #expect(m.canEnd)
        let ok2 = m.accepts(Array("\n<tool_call>".utf8))
        #expect(!ok2)
    }

    @Test func rejectsWhatTheSchemaForbids() throws {
        var m = try Self.matcher([Self.weather], parallel: false)
        let ok3 = m.accepts(Array("<tool_call>\n{\"name\": \"add\"".utf8))
        #expect(!ok3)
        let ok4 = m.accept("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {")
        #expect(ok4)
        let ok5 = m.accepts(Array("\"unit\"".utf8))
        #expect(!ok5)  // city is required and comes first
    }

    @Test func parallelCallsAreBounded() throws {
        var m = try Self.matcher([Self.add], parallel: true)
        let call = "<tool_call>\n{\"name\": \"add\", \"arguments\": {}}\n</tool_call>"
        let ok6 = m.accept(call)
        #expect(ok6)
        for _ in 1..<ToolCallGrammar.maxParallelCalls {
            #expect(m.canEnd)
            let ok7 = m.accept("\n" + call)
            #expect(ok7)
        }
        let ok8 = m.accepts(Array("\n".utf8))
        #expect(!ok8)
    }

    @Test func aBadSchemaNamesTheToolAndKeyword() {
        let bad = ToolFunction(name: "f", parameters: #"{"type": "object", "not": {}}"#)
        #expect(throws: ToolGrammarError.self) { try ToolCallGrammar.gbnf(functions: [Self.add, bad], parallel: false) }
        do {
            _ = try ToolCallGrammar.gbnf(functions: [Self.add, bad], parallel: false)
        } catch {
            #expect(error.param == "tools[1].function.parameters")
            #expect(error.description.contains("\"not\""))
        }
    }

    /// `type` beside `enum`/`const` is how tool schemas are written; such a tool can be forced.
    @Test func typedEnumsCanBeForced() throws {
        let parameters = try TemplateValue(jsonString: #"{"type": "object", "properties": {"unit": {"type": "string", "enum": ["C", "F"]}, "v": {"type": "integer", "const": 2}}, "required": ["unit"]}"#)
        let tool: TemplateValue = ["type": "function", "function": ["name": "w", "parameters": parameters]]
        let function = try #require(ToolFunction(tool: tool))
        var m = try Self.matcher([function], parallel: false)
        let ok = m.accept("<tool_call>\n{\"name\": \"w\", \"arguments\": {\"unit\": \"F\", \"v\": 2}}\n</tool_call>")
        #expect(ok)
    }

    @Test func assistantArgumentsStringsBecomeObjects() throws {
        let messages: [TemplateValue] = [
            ["role": "assistant", "content": nil, "tool_calls": [
                ["id": "call_1", "type": "function", "function": ["name": "add", "arguments": "{\"a\": 1}"]],
            ]],
            ["role": "tool", "tool_call_id": "call_1", "content": "3"],
        ]
        let prepared = ToolMessages.prepared(messages)
        guard case .object(let m) = prepared[0], case .array(let calls)? = m["tool_calls"], case .object(let c) = calls[0],
              case .object(let f)? = c["function"] else { Issue.record("shape changed"); return }
        #expect(f["arguments"] == ["a": 1])
        #expect(prepared[1] == messages[1])
    }
}
