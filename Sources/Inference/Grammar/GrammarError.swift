// Everything that can be wrong with a grammar or a JSON Schema before any token is generated.
// The Gateway shows `description` in a 400 answer, so it names the problem in the user's terms.

/// A grammar or JSON Schema that cannot be used to constrain generation.
public struct GrammarError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The GBNF text does not parse; line and column are 1-based.
        case syntax(line: Int, column: Int, message: String)
        case undefinedRule(String)
        case duplicateRule(String)
        /// The start rule is not defined.
        case missingRoot(String)
        /// The rule can reach itself without consuming a character, which never terminates.
        case leftRecursion(String)
        /// The rule starts with a chain of nested rules too long to follow safely.
        case nestedTooDeeply(String)
        /// The schema text is not JSON, or not an object or boolean.
        case invalidSchemaJSON(String)
        /// A JSON Schema keyword this compiler does not enforce.
        case unsupportedKeyword(keyword: String, path: String)
        /// A keyword with a value that makes no sense (a bad `$ref`, `minimum` above `maximum`, …).
        case invalidSchema(path: String, message: String)
        /// A grammar was asked for where no token bytes are known (a programming error).
        case noVocabulary
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case let .syntax(line, column, message):
            "The grammar has a syntax error at line \(line), column \(column): \(message)."
        case let .undefinedRule(name):
            "The grammar refers to the rule \"\(name)\", which it never defines."
        case let .duplicateRule(name):
            "The grammar defines the rule \"\(name)\" more than once."
        case let .missingRoot(name):
            "The grammar has no start rule \"\(name)\"; define it with `\(name) ::= ...`."
        case let .leftRecursion(name):
            "The grammar rule \"\(name)\" can refer to itself before matching any character (left recursion), which cannot be matched."
        case let .nestedTooDeeply(name):
            "The grammar rule \"\(name)\" starts with a chain of more than \(GrammarBuilder.maxLeadingDepth) nested rules; flatten it."
        case let .invalidSchemaJSON(why):
            "The JSON Schema is not valid JSON: \(why)."
        case let .unsupportedKeyword(keyword, path):
            "The JSON Schema uses the keyword \"\(keyword)\" at \(path), which structured output does not support."
        case let .invalidSchema(path, message):
            "The JSON Schema is invalid at \(path): \(message)."
        case .noVocabulary:
            "A grammar was given but the model's token bytes are not available to apply it."
        }
    }
}
