import Backends
import ChatTemplates
@testable import Gateway
import Inference
import Testing

/// `response_format`, `grammar`, `tools`, `tool_choice`, `parallel_tool_calls` and `variables`
/// as OpenAIRequests reads them, and tool calls as ResponseShaper writes them.
@Suite struct ToolAndStructuredRequestTests {
    static let weather: TemplateValue = [
        "type": "function",
        "function": ["name": "get_weather", "parameters": ["type": "object", "properties": ["city": ["type": "string"]]]],
    ]

    static func chat(_ extra: [(String, TemplateValue)]) throws(APIError) -> ChatCompletionBody {
        var o = TemplateObject([("model", "m"), ("messages", [["role": "user", "content": "hi"]])])
        for (k, v) in extra { o[k] = v }
        return try OpenAIRequests.chat(RequestFields(o))
    }

    static func refusal(_ extra: [(String, TemplateValue)]) -> APIError? {
        do {
            _ = try chat(extra)
            return nil
        } catch {
            return error
        }
    }

    @Test func responseFormats() throws {
        #expect(try Self.chat([]).request.parameters.grammar == nil)
        #expect(try Self.chat([("response_format", ["type": "text"])]).request.parameters.grammar == nil)
        #expect(try Self.chat([("response_format", ["type": "json_object"])]).request.parameters.grammar == .jsonObject)
        let schema: TemplateValue = ["type": "object", "properties": ["a": ["type": "integer"]], "required": ["a"]]
        let body = try Self.chat([("response_format", ["type": "json_schema", "json_schema": ["name": "x", "schema": schema, "strict": true]])])
        #expect(body.request.parameters.grammar == .jsonSchema(schema.jsonString))
        #expect(try Self.chat([("grammar", "root ::= \"yes\"")]).request.parameters.grammar == .gbnf("root ::= \"yes\""))
        // `type` beside `enum` (as most schemas write it) compiles.
        let typed: TemplateValue = ["type": "object", "properties": ["u": ["type": "string", "enum": ["C", "F"]]]]
        let folded = try Self.chat([("response_format", ["type": "json_schema", "json_schema": ["name": "x", "schema": typed]])])
        #expect(folded.request.parameters.grammar == .jsonSchema(typed.jsonString))
    }

    @Test func badFormatsNameTheParameterAndTheProblem() {
        let unsupported = Self.refusal([("response_format", ["type": "json_schema", "json_schema": ["name": "x", "schema": ["not": [:]]]])])
        #expect(unsupported?.status == .badRequest)
        #expect(unsupported?.param == "response_format")
        #expect(unsupported?.message.contains("\"not\"") == true)
        #expect(Self.refusal([("response_format", "json")])?.param == "response_format")
        #expect(Self.refusal([("response_format", ["type": "xml"])])?.param == "response_format.type")
        #expect(Self.refusal([("response_format", ["type": "json_schema"])])?.param == "response_format.json_schema")
        #expect(Self.refusal([("response_format", ["type": "json_schema", "json_schema": ["schema": [:]]])])?.param
            == "response_format.json_schema.name")
        let badGrammar = Self.refusal([("grammar", "root ::= (")])
        #expect(badGrammar?.param == "grammar")
        #expect(badGrammar?.message.contains("line 1") == true)
        #expect(Self.refusal([("grammar", "root ::= \"a\""), ("response_format", ["type": "json_object"])])?.param == "grammar")
    }

    @Test func toolsAndToolChoice() throws {
        let plain = try Self.chat([("tools", [Self.weather])])
        #expect(plain.request.tools == [Self.weather])
        #expect(plain.request.toolChoice == .auto)
        #expect(plain.request.parallelToolCalls)
        #expect(try Self.chat([("tools", [Self.weather]), ("tool_choice", "none")]).request.toolChoice == ToolChoice.none)
        #expect(try Self.chat([("tools", [Self.weather]), ("tool_choice", "required")]).request.toolChoice == .required)
        let named = try Self.chat([
            ("tools", [Self.weather]), ("tool_choice", ["type": "function", "function": ["name": "get_weather"]]),
            ("parallel_tool_calls", false),
        ])
        #expect(named.request.toolChoice == .function("get_weather"))
        #expect(!named.request.parallelToolCalls)
    }

    @Test func badToolsNameTheParameter() {
        let cases: [([(String, TemplateValue)], String)] = [
            ([("tools", "get_weather")], "tools"),
            ([("tools", ["x"])], "tools[0]"),
            ([("tools", [["type": "function"]])], "tools[0].function"),
            ([("tools", [["type": "code_interpreter", "function": ["name": "f"]]])], "tools[0].type"),
            ([("tools", [["type": "function", "function": ["name": 3]]])], "tools[0].function.name"),
            ([("tools", [["type": "function", "function": ["name": "a b"]]])], "tools[0].function.name"),
            ([("tools", [Self.weather, Self.weather])], "tools[1].function.name"),
            ([("tools", [["type": "function", "function": ["name": "f", "parameters": "{}"]]])], "tools[0].function.parameters"),
            ([("tools", [Self.weather]), ("tool_choice", "always")], "tool_choice"),
            ([("tools", [Self.weather]), ("tool_choice", 1)], "tool_choice"),
            ([("tools", [Self.weather]), ("tool_choice", ["type": "function", "function": ["name": "nope"]])], "tool_choice"),
            ([("tool_choice", "required")], "tool_choice"),
            ([("tools", [Self.weather]), ("parallel_tool_calls", "no")], "parallel_tool_calls"),
            ([("tools", [Self.weather]), ("tool_choice", "required"), ("response_format", ["type": "json_object"])], "tool_choice"),
        ]
        for (extra, param) in cases {
            let error = Self.refusal(extra)
            #expect(error?.status == .badRequest, "\(extra)")
            #expect(error?.param == param, "\(extra)")
        }
    }

    @Test func variablesArePassedOn() throws {
        let body = try Self.chat([("variables", ["topic": "cats", "n": 3])])
        #expect(body.request.variables == ["topic": "cats", "n": 3])
        #expect(Self.refusal([("variables", "x")])?.param == "variables")
    }

    @Test func toolCallsInResponsesAndChunks() {
        let shaper = ResponseShaper(kind: .chat, model: "m", logprobs: false)
        let call = ToolCall(id: "call_1", name: "get_weather", arguments: "{\"city\": \"Paris\"}")
        var choice = ChoiceAccumulator()
        choice.text = "\n"
        choice.toolCalls = [call]
        choice.finish = .toolCalls
        let response = JSONText.encode(shaper.response([choice], usage: BackendUsage(promptTokens: 1, completionTokens: 2)))
        #expect(response.contains(#""message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}],"refusal":null}"#))
        #expect(response.contains(#""finish_reason":"tool_calls""#))
        let chunks = shaper.toolCallChunks(choice: 0, index: 1, call: call, includeUsage: false).map(JSONText.encode)
        #expect(chunks.count == 2)
        #expect(chunks[0].contains(#""delta":{"tool_calls":[{"index":1,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}"#))
        #expect(chunks[1].contains(#""delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"city\": \"Paris\"}"}}]}"#))
    }
}
