import Testing

@testable import Inference

@Suite("GBNF parser")
struct GrammarParserTests {
    @Test func parsesRulesAlternativesAndOperators() throws {
        let g = try Grammar.parse(
            """
            # a comment
            root ::= item ("," " "? item)*   # trailing comment
            item ::= [a-z]+ | "\\"" [^"]* "\\""
                   | "x"{2,4} | . | "\\u00e9" | [\\x41-\\x43]{2}
            """)
        #expect(g.ruleNames.prefix(2) == ["root", "item"])
    }

    @Test func alternativesMayContinueOnTheNextLine() throws {
        var m = GrammarMatcher(grammar: try Grammar.parse("root ::= \"a\"\n  | \"b\"\nother ::= \"c\""))
        let b = m.accepts(Array("b".utf8)), c = m.accepts(Array("c".utf8))
        #expect(b && !c)
    }

    @Test(arguments: [
        ("root ::= \"abc", 1, 14, "unterminated string literal"),
        ("root ::= [a-", 1, 13, "unterminated character class"),
        ("root ::= a\na ::= \"x\" )", 2, 11, "unexpected character \")\""),
        ("root ::= \"x\"{3,1}", 1, 18, "maximum below its minimum"),
        ("root \"x\"", 1, 6, "expected \"::=\""),
        ("root ::= \"\\q\"", 1, 11, "unknown escape"),
    ])
    func syntaxErrorsCarryLineAndColumn(text: String, line: Int, column: Int, fragment: String) {
        do {
            _ = try Grammar.parse(text)
            Issue.record("expected a syntax error for \(text)")
        } catch {
            guard case let .syntax(l, c, message) = error.kind else {
                Issue.record("expected a syntax error, got \(error)")
                return
            }
            #expect(l == line)
            #expect(c == column)
            #expect(message.contains(fragment), "\(message)")
            #expect(error.description.contains("line \(line), column \(column)"))
        }
    }

    @Test func nestingThatCouldExhaustTheStackIsRefused() {
        let deep = "root ::= " + String(repeating: "(", count: 5000) + "\"a\"" + String(repeating: ")", count: 5000)
        #expect(throws: GrammarError.self) { try Grammar.parse(deep) }
        var chain = "root ::= r0\n"
        for i in 0..<3000 { chain += "r\(i) ::= r\(i + 1) \"x\"\n" }
        chain += "r3000 ::= \"y\"\n"
        #expect(throws: GrammarError(.nestedTooDeeply("r2000"))) { try Grammar.parse(chain) }
        var schema = ""
        for _ in 0..<200 { schema += #"{"type":"array","items":"# }
        schema += "true" + String(repeating: "}", count: 200)
        #expect(throws: GrammarError.self) { try GrammarSpec.jsonSchema(schema).compile() }
        let pattern = String(repeating: "(", count: 3000) + "a" + String(repeating: ")", count: 3000)
        #expect(throws: GrammarError.self) {
            try GrammarSpec.jsonSchema(#"{"type":"string","pattern":"\#(pattern)"}"#).compile()
        }
        // A long key among additionalProperties is fine (its exclusion rules are built without recursion).
        let key = String(repeating: "k", count: 20_000)
        _ = try? GrammarSpec.jsonSchema(#"{"type":"object","properties":{"\#(key)":{"type":"null"}},"additionalProperties":true}"#).compile()
    }

    @Test func semanticErrors() {
        #expect(throws: GrammarError(.undefinedRule("nope"))) { try Grammar.parse("root ::= nope") }
        #expect(throws: GrammarError(.missingRoot("root"))) { try Grammar.parse("start ::= \"a\"") }
        #expect(throws: GrammarError(.duplicateRule("a"))) { try Grammar.parse("root ::= a\na ::= \"x\"\na ::= \"y\"") }
        #expect(throws: GrammarError(.leftRecursion("expr"))) {
            try Grammar.parse("root ::= expr\nexpr ::= expr \"+\" \"1\" | \"1\"")
        }
        #expect(throws: GrammarError(.leftRecursion("a"))) {
            try Grammar.parse("root ::= a\na ::= b? a \"x\" | \"y\"\nb ::= \"z\"")
        }
    }
}
