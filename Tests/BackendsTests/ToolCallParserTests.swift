@testable import Backends
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
                case .call(let c), .callStart(let c): calls.append(c)
                case .arguments(let a): calls[calls.count - 1].arguments += a
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
        // A streamed call cut short keeps what was released (it cannot be taken back).
        let cut = "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": "
        let r = Self.runByCharacter(cut)
        #expect(Self.summary(r) == "|add({\"a\": )")
        // One that never began its arguments is still content.
        let early = "<tool_call>\n{\"name\": \"add\", \"arguments\": {"
        #expect(Self.summary(Self.runByCharacter(early)) == early + "|")
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

    // MARK: - streamed arguments

    /// Each feed's pieces, written so that calls compare without their random ids.
    static func steps(_ tokens: [String], names: [String]? = ["get_weather", "add"]) -> [[String]] {
        var parser = ToolCallParser(toolNames: names)
        return (tokens.map { parser.feed($0) } + [parser.finish()]).map { pieces in
            pieces.map { p in
                switch p {
                case .content(let s): "text:" + s
                case .call(let c): "call:\(c.name)(\(c.arguments))"
                case .callStart(let c): "start:\(c.name)(\(c.arguments))"
                case .arguments(let a): "args:" + a
                }
            }
        }
    }

    /// A Qwen call written over several tokens: a start with the name and no arguments as soon
    /// as the arguments begin, then each token's piece of them, as it arrives.
    @Test func taggedArgumentsStreamAsTheyAreWritten() {
        let tokens = ["<tool_call>", "\n{\"name\": \"get_weather\", \"arguments\": {\"", "city", "\": \"", "Par", "is", "\"}}",
                      "\n</tool_call>"]
        #expect(Self.steps(tokens) == [
            [], ["start:get_weather()", "args:{\""], ["args:city"], ["args:\": \""], ["args:Par"], ["args:is"], ["args:\"}"], [], [],
        ])
        #expect(Self.run(tokens).calls.map(\.arguments) == ["{\"city\": \"Paris\"}"])
    }

    /// Plain JSON and Llama 3's python tag stream the same way; parallel calls each start anew.
    @Test func plainAndPythonTagArgumentsStream() {
        let plain = Self.steps(["{\"name\": \"add\", \"arguments\": {\"a\"", ": 1,", " \"b\": 2}}", "\n{\"name\": \"add\", \"arguments\": {}}"])
        #expect(plain == [["start:add()", "args:{\"a\""], ["args:: 1,"], ["args: \"b\": 2}"], ["start:add()", "args:{}"], []])
        let tagged = Self.steps(["<|python_tag|>{\"name\": \"add\", \"parameters\": {\"a\": ", "3}}", "; {\"name\": \"get_weather\", \"parameters\": {\"city", "\": \"Rome\"}}"])
        #expect(tagged == [["start:add()", "args:{\"a\": "], ["args:3}"], ["start:get_weather()", "args:{\"city"], ["args:\": \"Rome\"}"], []])
    }

    /// The ```json fence small models write around a call (qwen2.5-coder:0.5b's own tokens).
    @Test func fencedArgumentsStream() {
        let tokens = ["```", "json", "\n", "{\n", " ", " \"", "name", "\":", " \"", "get", "_weather", "\",\n", " ", " \"", "arguments",
                      "\":", " {\n", "   ", " \"", "city", "\":", " \"", "Paris", "\"\n", " ", " }\n", "}\n", "```"]
        let steps = Self.steps(tokens)
        #expect(steps.flatMap { $0 }.filter { $0.hasPrefix("args:") }.count > 5)
        #expect(steps.flatMap { $0 }.first == "start:get_weather()")
        #expect(!steps.flatMap { $0 }.contains { $0.hasPrefix("text:") })
        #expect(Self.run(tokens).calls.map(\.arguments) == ["{\n    \"city\": \"Paris\"\n  }"])
    }

    /// Only a valid beginning of JSON is released: arguments that break off end the call there,
    /// and the rest is content; the finish reason then stays the generation's.
    @Test func brokenArgumentsEndTheStreamedCall() {
        var parser = ToolCallParser(toolNames: ["add"])
        var pieces = parser.feed("<tool_call>{\"name\": \"add\", \"arguments\": {\"a\": 1, ")
        #expect(pieces.count == 2)
        pieces = parser.feed("b: 2}}</tool_call>")
        #expect(pieces == [.content("b: 2}}</tool_call>")])
        #expect(parser.lastCallCutShort)
        // A later whole call clears it.
        _ = parser.feed("<tool_call>{\"name\": \"add\", \"arguments\": {}}</tool_call>")
        _ = parser.finish()
        #expect(!parser.lastCallCutShort)
    }

    /// The arguments checker accepts exactly the beginnings of valid JSON objects.
    @Test func jsonPrefixChecker() {
        func accepted(_ text: String) -> (Int, Bool) {
            var checker = JSONPrefixCheckerProbe()
            return checker.run(text)
        }
        let valid = [#"{"a": [1, -2.5e+3, 0, true, false, null, {"b": "\u00e9\n"}], "c": {}}"#, #"{ }"#, #"{"x":"ü 🌧"}"#]
        for text in valid { #expect(accepted(text) == (text.utf8.count, true), "\(text)") }
        let invalid: [(String, Int)] = [(#"{a"#, 1), (#"{"a" 1"#, 5), (#"{"a": 01"#, 7), (#"{"a": tru }"#, 9), (#"{"a": [1,]}"#, 9),
                                        (#"{"a": "\q"}"#, 8), (#"{"a": 1}}"#, 8), ("[1]", 0), (#"{"a": -}"#, 7), (#"{"a":1.}"#, 7)]
        for (text, at) in invalid { #expect(accepted(text) == (at, false), "\(text)") }
    }
}

/// Runs the (internal) checker over a text: bytes taken, and whether the text is one whole object.
struct JSONPrefixCheckerProbe {
    mutating func run(_ text: String) -> (Int, Bool) {
        var checker = JSONPrefixChecker()
        var taken = 0
        for b in text.utf8 {
            guard checker.accept(b) else { return (taken, false) }
            taken += 1
        }
        return (taken, checker.isComplete)
    }
}
