// JSON Schema → GBNF. The result defines one rule for the whole value plus helper rules, all
// named after it, so that several schemas (one per tool) can live in one grammar.
//
// Choices: properties come in schema order and optional ones may be left out; an object schema
// with `properties` and no `additionalProperties` allows no other keys (strict outputs); an
// object schema without `properties` allows any keys unless `additionalProperties` says
// otherwise. Whitespace between tokens is bounded: nothing, a space, or a newline and at most
// 20 spaces or tabs, so sampling cannot loop on whitespace.

/// Builds GBNF grammars for JSON values.
public enum JSONSchemaGrammar {
    /// Rules defining `rootName` as a JSON value valid against the schema (JSON text); helper
    /// rules are named "\(rootName)-…".
    public static func rules(schemaJSON: String, rootName: String) throws(GrammarError) -> String {
        try checkName(rootName)
        let schema = try JSONValue.parse(schemaJSON)
        var compiler = JSONSchemaCompiler(prefix: rootName, document: schema)
        let body = try compiler.compile(schema, path: "#")
        return compiler.finish(root: body)
    }

    /// Rules defining `rootName` as any JSON value.
    public static func anyValueRules(rootName: String) -> String {
        var compiler = JSONSchemaCompiler(prefix: rootName, document: .bool(true))
        let root = compiler.primitive("value")
        return compiler.finish(root: root)
    }

    /// Rules defining `rootName` as any JSON object.
    public static func anyObjectRules(rootName: String) -> String {
        var compiler = JSONSchemaCompiler(prefix: rootName, document: .bool(true))
        let root = compiler.primitive("object")
        return compiler.finish(root: root)
    }

    /// The bounded-whitespace rule the texts above define for `rootName`.
    public static func wsRuleName(rootName: String) -> String { rootName + "-ws" }

    /// A GBNF string literal matching exactly `text` (for composing grammars around these rules).
    public static func literal(_ text: String) -> String { JSONStringGrammar.gbnfLiteral(text) }

    private static func checkName(_ name: String) throws(GrammarError) {
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ GBNFParser.isNameCharacter($0.value) }) else {
            throw GrammarError(.invalidSchema(path: "#", message: "the rule name \"\(name)\" must be letters, digits, \"-\" or \"_\""))
        }
    }
}
