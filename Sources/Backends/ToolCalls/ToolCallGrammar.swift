// The grammar that forces a tool call (tool_choice "required" or a named function): Qwen's form
//   <tool_call>\n{"name": "<fn>", "arguments": <an object valid against fn.parameters>}\n</tool_call>
// one call, or up to `maxParallelCalls` separated by newlines when parallel calls are allowed.

import Inference

public enum ToolCallGrammar {
    /// The most calls a forced turn may hold (a bound keeps a sampling model from looping).
    public static let maxParallelCalls = 4

    /// GBNF text whose `root` is one call (or several) to one of `functions`.
    public static func gbnf(functions: [ToolFunction], parallel: Bool) throws(ToolGrammarError) -> String {
        guard !functions.isEmpty else { throw .noFunctions }
        var rules: [String] = []
        var alternatives: [String] = []
        for (i, function) in functions.enumerated() {
            let root = "fn\(i)"
            do {
                if let schema = function.parameters {
                    rules.append(try JSONSchemaGrammar.rules(schemaJSON: schema, rootName: root))
                } else {
                    rules.append(JSONSchemaGrammar.anyObjectRules(rootName: root))
                }
            } catch {
                throw .invalidParameters(index: i, name: function.name, error)
            }
            alternatives.append(literal("\"\(function.name)\", \"arguments\": ") + " " + root)
        }
        let call = "call ::= " + literal("<tool_call>\n{\"name\": ") + " ( " + alternatives.joined(separator: " | ") + " ) "
            + literal("}\n</tool_call>")
        var root = "root ::= call"
        if parallel {
            // call ( "\n" call ( "\n" call )? )? … nested, so the count is bounded.
            var tail = ""
            for _ in 1..<maxParallelCalls { tail = " ( " + literal("\n") + " call" + tail + " )?" }
            root += tail
        }
        return ([root, call] + rules).joined(separator: "\n") + "\n"
    }

    static func literal(_ text: String) -> String { JSONSchemaGrammar.literal(text) }
}

/// Why the forced-call grammar could not be built.
public enum ToolGrammarError: Error, Sendable, CustomStringConvertible {
    case noFunctions
    case invalidParameters(index: Int, name: String, GrammarError)

    public var description: String {
        switch self {
        case .noFunctions:
            "A tool call was required but the request offers no functions."
        case let .invalidParameters(index, name, error):
            "The parameters schema of tool \(index) ('\(name)') cannot be used: \(error.description)"
        }
    }

    /// The request field at fault.
    public var param: String {
        switch self {
        case .noFunctions: "tools"
        case .invalidParameters(let index, _, _): "tools[\(index)].function.parameters"
        }
    }
}
