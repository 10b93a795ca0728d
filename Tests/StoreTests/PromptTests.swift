import ChatTemplates
import Foundation
import Testing
@testable import Store

@Suite struct PromptTests {
    static func draft(_ system: String, _ user: String, model: String? = "smollm2:135m") -> PromptDraft {
        PromptDraft(system: system, messages: [PromptMessage(role: "user", content: user)], model: model,
                    parameters: TemplateObject([("temperature", .double(0.2))]))
    }

    @Test func savesImmutableVersionsAndLabels() throws {
        let t = try TemporaryStore()
        let v1 = try t.store.prompts.save(name: "greet", Self.draft("Be kind.", "Hello {{name}}"))
        let v2 = try t.store.prompts.save(name: "greet", Self.draft("Be brief.", "Hello {{ name }} from {{city}}"))
        #expect((v1.version, v2.version) == (1, 2))
        try t.store.prompts.setLabel("production", name: "greet", version: 1)
        try t.store.prompts.setLabel("staging", name: "greet", version: 2)
        #expect(try t.store.prompts.version(named: "greet", .label("production")).draft.system == "Be kind.")
        #expect(try t.store.prompts.version(named: "greet", .latest).version == 2)
        try t.store.prompts.setLabel("production", name: "greet", version: 2)
        #expect(try t.store.prompts.version(named: "greet", .label("production")).version == 2)

        let p = try t.store.prompts.prompt(named: "greet")
        #expect(p.versions.map(\.version) == [1, 2])
        #expect(p.labels == ["production": 2, "staging": 2])
        #expect(p.versions[1].variables == ["name", "city"])
        #expect(p.versions[0].draft.parameters["temperature"] == .double(0.2))
        #expect(try t.store.prompts.list().map(\.latestVersion) == [2])

        #expect(throws: (any Error).self) {
            try t.database.write { db in try db.execute(sql: "UPDATE prompt_versions SET system = 'x'") }
        }
        #expect(throws: StoreError.notFound("version 7 of prompt 'greet'")) { try t.store.prompts.setLabel("x", name: "greet", version: 7) }
        #expect(throws: StoreError.notFound("prompt named 'nope'")) { try t.store.prompts.prompt(named: "nope") }
        #expect(throws: StoreError.self) { try t.store.prompts.save(name: "bad name", Self.draft("a", "b")) }
    }

    @Test func rendersVariablesAndNamesTheMissingOne() throws {
        let v = PromptVersion(name: "g", version: 1, created: Date(), draft: Self.draft("You help {{who}}.", "Say {{n}} things"))
        let messages = try v.render(["who": "Ann", "n": .int(3)])
        #expect(messages == [.object([("role", "system"), ("content", "You help Ann.")]),
                             .object([("role", "user"), ("content", "Say 3 things")])])
        #expect(throws: PromptRenderError.missingVariable("n")) { try v.render(["who": "Ann"]) }
    }

    @Test func parsesReferences() {
        #expect(PromptReference(model: "prompt:greet@production") == PromptReference(name: "greet", selector: .label("production")))
        #expect(PromptReference(model: "prompt:greet@3") == PromptReference(name: "greet", selector: .version(3)))
        #expect(PromptReference(model: "prompt:greet") == PromptReference(name: "greet", selector: .latest))
        #expect(PromptReference(model: "smollm2:135m") == nil)
    }

    @Test func draftJSONErrorsNameTheField() throws {
        #expect(throws: StoreError.invalid("messages[0] must be an object with string 'role' and 'content'.")) {
            try PromptDraft(json: TemplateValue(jsonString: #"{"system":"s","messages":[{"role":"user"}]}"#))
        }
        let d = try PromptDraft(json: TemplateValue(jsonString: #"{"system":"s","model":"m","parameters":{"top_p":0.5},"note":"n"}"#))
        #expect(d.model == "m" && d.note == "n" && d.parameters["top_p"] == .double(0.5))
    }
}
