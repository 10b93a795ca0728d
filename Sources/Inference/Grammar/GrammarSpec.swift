// What a request asks the output to be: GBNF text, a JSON Schema, or any JSON object. Compiled
// grammars are kept in a small cache, since the same spec is checked when a request arrives and
// compiled again for each sequence that runs it.

import Synchronization

/// The grammar a generation must follow.
public enum GrammarSpec: Sendable, Hashable {
    /// GBNF text (llama.cpp's notation) whose start rule is `root`.
    case gbnf(String)
    /// A JSON Schema, as JSON text.
    case jsonSchema(String)
    /// Any JSON object.
    case jsonObject

    /// The GBNF text this spec stands for.
    public func gbnfText() throws(GrammarError) -> String {
        switch self {
        case .gbnf(let text): text
        case .jsonSchema(let schema): try JSONSchemaGrammar.rules(schemaJSON: schema, rootName: "root")
        case .jsonObject: JSONSchemaGrammar.anyObjectRules(rootName: "root")
        }
    }

    /// The compiled grammar; throws a `GrammarError` that says what is wrong with the spec.
    public func compile() throws(GrammarError) -> Grammar {
        if let hit = Self.cache.withLock({ $0.first { $0.spec == self }?.grammar }) { return hit }
        let grammar = try Grammar.parse(gbnfText(), root: "root")
        Self.cache.withLock { entries in
            entries.removeAll { $0.spec == self }
            entries.append((self, grammar))
            if entries.count > Self.cacheSize { entries.removeFirst() }
        }
        return grammar
    }

    private static let cacheSize = 16
    private static let cache = Mutex<[(spec: GrammarSpec, grammar: Grammar)]>([])
}
