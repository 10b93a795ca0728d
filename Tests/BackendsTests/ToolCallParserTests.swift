import Backends
import ChatTemplates
import Testing

@Suite struct ToolCallParserTests {
    /// Feeds `pieces` one after the other, then finishes; returns the joined content and the calls.
    static func run(_ pieces: [String], names: [String]? = ["get_weather", "add"]) -> (content: String, calls: [ToolCall]) {
        var parser = ToolCallParser(toolNames: names)
        var content = ""
        var calls: [ToolCall] = []
        for piece in pieces.map({ parser.feed($0) }) + [parser.finish()] {
            for p in piece {
                switch p {
                case .content(let s): content += s
                case .call(let c): calls.append(c)
                }
            }
        }
        return (content, calls)
    }

    /// Character by character, as tokens arrive.
    static func runByCharacter(_ text: String, names: [String]? = ["get_weather", "add"]) -> (content: String, calls: [ToolCall]) {
        run(text.map { String($0) }, names: names)
    }

    static func summary(_ r: (content: String, calls: [ToolCall])) -> String {
        r.content + "|" + r.calls.map { "\($0.name)(\($0.arguments))" }.joined(separator: ";")
    }

    @Test func qwenCallAfterContent() {
        let text = "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
        let r = Self.runByCharacter(text)
        #expect(r.content == "Let me check.\n")
        #expect(r.calls.count == 1)
        #expect(r.calls.first?.name == "get_weather")
        #expect(r.calls.first?.arguments == "{\"city\": \"Paris\"}")
        #expect(r.calls.first?.id.hasPrefix("call_") == true)
    }

    @Test func parallelQwenCalls() {
        let text = """
            <tool_call>
            {"name": "get_weather", "arguments": {"city": "Paris"}}
            </tool_call>
            <tool_call>
            {"name": "add", "arguments": {"a": 1, "b": 2}}
            </tool_call>
            """
        let r = Self.runByCharacter(text)
        #expect(r.content == "")
        #expect(r.calls.map(\.name) == ["get_weather", "add"])
        #expect(r.calls[1].arguments == "{\"a\": 1, \"b\": 2}")
        #expect(Set(r.calls.map(\.id)).count == 2)
    }

    /// The result does not depend on where the stream is cut.
    @Test func splitPointsDoNotMatter() {
        let text = "Hi <b> there <tool_call>{\"name\": \"add\", \"arguments\": {\"a\": \"}<tool_call>\"}}</tool_call> done <tool"
        let whole = Self.summary(Self.run([text]))
        #expect(whole == "Hi <b> there  done <tool|add({\"a\": \"}<tool_call>\"})")
        for cut in 0...text.count {
            let i = text.index(text.startIndex, offsetBy: cut)
            #expect(Self.summary(Self.run([String(text[..<i]), String(text[i...])])) == whole, "cut at \(cut)")
        }
        #expect(Self.summary(Self.runByCharacter(text)) == whole)
    }

    /// Text that may start a tag is withheld, and released once it cannot.
    @Test func withholdsOnlyWhatMayBeATag() {
        var parser = ToolCallParser(toolNames: ["add"])
        #expect(parser.feed("Use a <tool") == [.content("Use a ")])
        #expect(parser.feed("box> here") == [.content("<toolbox> here")])
        #expect(parser.feed(" <|python") == [])  // a lone space is held with what may follow
        #expect(parser.finish() == [.content(" <|python")])
    }

    @Test func malformedCallIsKeptAsContent() {
        let text = "<tool_call>\n{\"name\": \"add\", \"arguments\": {a: 1}}\n</tool_call> after"
        let r = Self.runByCharacter(text)
        #expect(r.calls.isEmpty)
        #expect(r.content == text)
    }

    @Test func unknownFunctionIsKeptAsContent() {
        let text = "<tool_call>{\"name\": \"launch\", \"arguments\": {}}</tool_call>"
        let r = Self.runByCharacter(text)
        #expect(r.calls.isEmpty)
        #expect(r.content == text)
        #expect(Self.runByCharacter(text, names: nil).calls.map(\.name) == ["launch"])
    }

    @Test func unclosedTagAtTheEnd() {
        let complete = Self.runByCharacter("<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}}\n")
        #expect(complete.calls.map(\.name) == ["add"])
        #expect(complete.content == "")
        let cut = "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": "
        let r = Self.runByCharacter(cut)
        #expect(r.calls.isEmpty)
        #expect(r.content == cut)
    }

    @Test func plainJSONCalls() {
        let one = Self.runByCharacter("  {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}")
        #expect(one.calls.map(\.name) == ["get_weather"])
        #expect(one.calls.first?.arguments == "{\"city\": \"Oslo\"}")
        #expect(one.content == "")
        let two = Self.runByCharacter("[{\"name\": \"add\", \"arguments\": {\"a\": 1}}, {\"name\": \"get_weather\", \"arguments\": {}}]")
        #expect(two.calls.map(\.name) == ["add", "get_weather"])
        let openAIShape = Self.runByCharacter("{\"type\": \"function\", \"function\": {\"name\": \"add\", \"arguments\": \"{\\\"a\\\": 2}\"}}")
        #expect(openAIShape.calls.first?.arguments == "{\"a\": 2}")
    }

    @Test func plainJSONCallsOneAfterAnother() {
        let text = "\n{\"name\": \"add\", \"arguments\": {\"a\": 1}}\n{\"name\": \"get_weather\", \"arguments\": {}}\n{\"name\": \"add\", \"argu"
        let r = Self.runByCharacter(text)
        #expect(r.calls.map(\.name) == ["add", "get_weather"])
        #expect(r.content == "\n{\"name\": \"add\", \"argu")  // the cut-off third one stays text
        let mixed = "{\"name\": \"add\", \"arguments\": {}} then {\"name\": \"add\", \"arguments\": {}}"
        #expect(Self.runByCharacter(mixed).calls.count == 1)
    }

    @Test func plainJSONThatIsNotACallIsContent() {
        for text in ["{\"answer\": 42}", "[1, 2, 3] and more", "{\"name\": \"add\", \"arguments\": 5}", "{not json"] {
            let r = Self.runByCharacter(text)
            #expect(r.calls.isEmpty, "\(text)")
            #expect(r.content == text)
        }
        // JSON later in the output is not a plain-JSON call.
        let later = "Here: {\"name\": \"add\", \"arguments\": {}}"
        #expect(Self.runByCharacter(later).content == later)
    }

    @Test func fencedJSONCall() {
        let text = "```json\n{\n  \"name\": \"get_weather\",\n  \"arguments\": {\"city\": \"Paris\"}\n}\n```"
        let r = Self.runByCharacter(text)
        #expect(r.calls.map(\.name) == ["get_weather"])
        #expect(r.content == "")
        for other in ["```json\n{\"answer\": 1}\n```", "```python\nprint(1)\n```", "``inline``", "```json\n{\"name\": \"add\""] {
            let o = Self.runByCharacter(other)
            #expect(o.calls.isEmpty, "\(other)")
            #expect(o.content == other)
        }
    }

    @Test func llama3PythonTag() {
        let r = Self.runByCharacter("<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Rome\"}}; {\"name\": \"add\", \"parameters\": {\"a\": 3}}")
        #expect(r.calls.map(\.name) == ["get_weather", "add"])
        #expect(r.calls.map(\.arguments) == ["{\"city\": \"Rome\"}", "{\"a\": 3}"])
        let code = "<|python_tag|>print(1)"
        #expect(Self.runByCharacter(code).content == code)
    }

    @Test func callsWithoutArgumentsGetAnEmptyObject() {
        let r = Self.runByCharacter("<tool_call>{\"name\": \"add\"}</tool_call>")
        #expect(r.calls.first?.arguments == "{}")
    }

    @Test func unicodeAndEscapesSurvive() {
        let r = Self.runByCharacter("<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich \\\"Nord\\\" 🌧\"}}</tool_call>")
        #expect(r.calls.first?.arguments == "{\"city\": \"Zürich \\\"Nord\\\" 🌧\"}")
    }
}
