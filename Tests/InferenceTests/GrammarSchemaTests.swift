import Foundation
import Testing

@testable import Inference

@Suite("JSON Schema grammars")
struct GrammarSchemaTests {
    /// Single characters (ASCII, multi-byte) plus a few multi-character pieces, then one
    /// end-of-generation id.
    static let pieces: [[UInt8]] = {
        var p: [[UInt8]] = (0x20...0x7E).map { [UInt8($0)] }
        p += ["\n", "\t", "é", "日", "😀", "\":", "\"}", "true", "null", "  ", "12", "-0", "e+"].map { Array($0.utf8) }
        p.append([])
        return p
    }()
    static let eos = pieces.count - 1
    static let vocabulary = GrammarVocabulary(tokenBytes: pieces, endOfGeneration: [eos])
    static let closers = Set(["\"", "}", "]", "\"}"].map { Array($0.utf8) })

    /// A random sentence of the grammar: random allowed pieces, steering toward the end after a
    /// while so that walks finish.
    static func randomWalk(_ grammar: Grammar, rng: inout SeededRandom, steer: Int = 80) -> String? {
        var c = GrammarConstraint(grammar: grammar, vocabulary: vocabulary)
        var out: [UInt8] = []
        for step in 0..<3000 {
            if c.isComplete { return String(decoding: out, as: UTF8.self) }
            let allowed = c.allowedTokens().ids
            guard !allowed.isEmpty else { return nil }
            var pick = allowed[Int(rng.next() % UInt64(allowed.count))]
            if step > steer {
                if allowed.contains(eos) { return String(decoding: out, as: UTF8.self) }
                let closing = allowed.filter { closers.contains(pieces[$0]) }
                let digits = allowed.filter { pieces[$0].count == 1 && pieces[$0][0] >= 0x30 && pieces[$0][0] <= 0x39 }
                if !closing.isEmpty && rng.next() % 4 != 0 { pick = closing[Int(rng.next() % UInt64(closing.count))] }
                else if closing.isEmpty && !digits.isEmpty && rng.next() % 2 == 0 { pick = digits[0] }
            }
            if pick == eos { return String(decoding: out, as: UTF8.self) }
            out += pieces[pick]
            c.accept(pick)
        }
        return nil
    }

    static let schemas: [String] = [
        #"{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}"#,
        #"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"number"},"c":{"type":"boolean"}},"required":["b"]}"#,
        #"{"type":"object","properties":{"id":{"type":"integer","minimum":-5,"maximum":120}},"required":["id"],"additionalProperties":{"type":"null"}}"#,
        #"{"type":"object","additionalProperties":true}"#,
        #"{"type":"object"}"#,
        #"{"type":"array","items":{"type":"integer","minimum":10,"exclusiveMaximum":1000},"minItems":2,"maxItems":5}"#,
        #"{"type":"array","prefixItems":[{"type":"string"},{"type":"boolean"}],"items":false}"#,
        #"{"type":"array","prefixItems":[{"const":1},{"enum":["x","y"]}],"items":{"type":"null"},"minItems":3}"#,
        #"{"type":"string","minLength":3,"maxLength":6}"#,
        #"{"type":"string","format":"date"}"#,
        #"{"type":"string","format":"time"}"#,
        #"{"type":"string","format":"date-time"}"#,
        #"{"type":"string","format":"uuid"}"#,
        #"{"type":"string","format":"email"}"#,
        #"{"type":"string","pattern":"^[A-Z]{2}-\\d{3,4}$"}"#,
        #"{"type":"string","pattern":"^(ab|cd)+x?$"}"#,
        #"{"type":"string","pattern":"[0-9]"}"#,
        #"{"type":"string","pattern":"^\\w+@[a-z]+\\.(com|org)$"}"#,
        #"{"enum":["red","green",3,null,{"k":[1,2]}]}"#,
        #"{"type":"string","enum":["red","green",3]}"#,
        #"{"type":["integer","null"],"enum":[1,2.5,null,"x"]}"#,
        #"{"type":"string","const":"fixed"}"#,
        #"{"const":{"a":"b\"c"}}"#,
        #"{"anyOf":[{"type":"integer","minimum":0},{"type":"string","maxLength":2}]}"#,
        #"{"oneOf":[{"type":"object","properties":{"kind":{"const":"a"}},"required":["kind"]},{"type":"array","maxItems":1}]}"#,
        #"{"type":["string","null"]}"#,
        #"{"type":"integer","minimum":-1234,"maximum":56789}"#,
        #"{"type":"integer","exclusiveMinimum":7}"#,
        #"{"type":"integer","maximum":-3}"#,
        #"{"type":"number","minimum":-2.5,"maximum":3.25}"#,
        #"{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1}"#,
        #"{"type":"number","minimum":100}"#,
        #"{"type":"number"}"#,
        ##"{"$defs":{"pt":{"type":"object","properties":{"x":{"type":"number"},"y":{"type":"number"}},"required":["x","y"]}},"type":"array","items":{"$ref":"#/$defs/pt"},"maxItems":3}"##,
        ##"{"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},"next":{"anyOf":[{"$ref":"#/$defs/node"},{"type":"null"}]}},"required":["v","next"]}},"$ref":"#/$defs/node"}"##,
        #"{"type":"object","properties":{"tags":{"type":"array","items":{"type":"string","maxLength":5}},"meta":{"type":"object","properties":{"k":{"type":"string","format":"uuid"}}}},"required":["tags"],"title":"T","description":"d","$schema":"https://json-schema.org/draft/2020-12/schema"}"#,
        #"{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"},"c":{"type":"integer"}}}"#,
        #"{"type":"object","properties":{"id":{"type":"integer"},"i":{"type":"boolean"}},"additionalProperties":{"type":"string","maxLength":3}}"#,
        #"true"#,
    ]

    @Test(arguments: schemas)
    func randomSentencesAreValidJSONThatFitTheSchema(schema: String) throws {
        let text = try JSONSchemaGrammar.rules(schemaJSON: schema, rootName: "root")
        let grammar = try Grammar.parse(text)
        let validator = try? GrammarSchemaValidator(schemaJSON: schema)
        var rng = SeededRandom(seed: UInt64(schema.utf8.count))
        var finished = 0
        for _ in 0..<60 {
            guard let s = Self.randomWalk(grammar, rng: &rng) else { continue }
            finished += 1
            let value: Any
            do {
                value = try JSONSerialization.jsonObject(with: Data(s.utf8), options: [.fragmentsAllowed])
            } catch {
                Issue.record("not JSON: \(s)")
                continue
            }
            if let validator, let why = validator.violation(value) {
                Issue.record("\(why) in \(s)")
            }
        }
        #expect(finished >= 40, "only \(finished) walks finished for \(schema)")
    }

    @Test(arguments: [
        (#"{"type":"string","not":{"const":"x"}}"#, "not", "#"),
        (##"{"type":"object","properties":{"a":{"type":"integer","multipleOf":3}}}"##, "multipleOf", "#/properties/a"),
        (#"{"type":"object","patternProperties":{"^x":{}}}"#, "patternProperties", "#"),
        (#"{"type":"string","format":"uri"}"#, "format \"uri\"", "#"),
        (#"{"type":"array","items":{"type":"string"},"uniqueItems":true}"#, "uniqueItems", "#"),
        (#"{"if":{"type":"string"}}"#, "if", "#"),
    ])
    func unsupportedKeywordsAreNamed(schema: String, keyword: String, path: String) {
        #expect(throws: GrammarError(.unsupportedKeyword(keyword: keyword, path: path))) {
            try JSONSchemaGrammar.rules(schemaJSON: schema, rootName: "root")
        }
        let error = try? GrammarSpec.jsonSchema(schema).compile()
        #expect(error == nil)
    }

    @Test func invalidSchemasAreExplained() throws {
        #expect(throws: GrammarError.self) { try GrammarSpec.jsonSchema("{\"type\": ").compile() }
        #expect(throws: GrammarError.self) { try GrammarSpec.jsonSchema(##"{"$ref":"#/$defs/missing"}"##).compile() }
        #expect(throws: GrammarError.self) { try GrammarSpec.jsonSchema(#"{"type":"integer","minimum":5,"maximum":4}"#).compile() }
        #expect(throws: GrammarError.self) { try GrammarSpec.jsonSchema(#"{"type":"string","pattern":"(?=x)"}"#).compile() }
        do {
            _ = try GrammarSpec.jsonSchema(#"{"type":"objekt"}"#).compile()
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("objekt"))
        }
    }

    @Test func descriptiveKeywordsAreIgnored() throws {
        _ = try GrammarSpec.jsonSchema(
            #"{"title":"t","description":"d","examples":[1],"default":1,"$comment":"c","$id":"x","type":"integer"}"#
        ).compile()
    }

    @Test func rulesForSeveralSchemasCombineInOneGrammar() throws {
        let a = try JSONSchemaGrammar.rules(schemaJSON: #"{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}"#, rootName: "call0")
        let b = try JSONSchemaGrammar.rules(schemaJSON: #"{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}"#, rootName: "call1")
        let text = "root ::= \"A\" call0 | \"B\" call1\n" + a + b
        var m = GrammarMatcher(grammar: try Grammar.parse(text))
        let ok = m.accept("B{\"q\": \"hi\"}")
        #expect(ok && m.isComplete)
    }

    @Test func extraKeysNeverRepeatAListedProperty() throws {
        let schema = #"{"type":"object","properties":{"a":{"type":"integer"},"ab":{"type":"string"}},"additionalProperties":true}"#
        let g = try GrammarSpec.jsonSchema(schema).compile()
        for (text, ok) in [
            (#"{"a": 1, "ab": "x", "abc": [1]}"#, true), (#"{"b": 2}"#, true), (#"{"": 2}"#, true), (#"{"a\u0062": 1}"#, false),
            (#"{"a": "x"}"#, false), (#"{"a": 1, "a": 2}"#, false), (#"{"x": 1, "ab": 2}"#, false),
            (#"{"ab": "x", "a": 1}"#, false),
        ] {
            var m = GrammarMatcher(grammar: g)
            let accepted = m.accept(text) && m.isComplete
            #expect(accepted == ok, "\(text)")
        }
    }

    @Test func whitespaceBetweenTokensIsBounded() throws {
        var m = GrammarMatcher(grammar: try GrammarSpec.jsonObject.compile())
        let ok = m.accept("{\n" + String(repeating: " ", count: 20))
        let more = m.accept(" ")
        #expect(ok && !more)
    }

    @Test func anyJSONObject() throws {
        var rng = SeededRandom(seed: 3)
        let g = try GrammarSpec.jsonObject.compile()
        for _ in 0..<50 {
            guard let s = Self.randomWalk(g, rng: &rng) else { continue }
            let v = try JSONSerialization.jsonObject(with: Data(s.utf8))
            #expect(v is [String: Any], "\(s)")
        }
    }
}
