// A function call the model made, as OpenAI reports it in `message.tool_calls`, and what a
// request says about tools.

import ChatTemplates

/// One call: its id (`call_…`), the function's name and its arguments as JSON text.
public struct ToolCall: Sendable, Equatable {
    public var id: String
    public var name: String
    /// The arguments object as compact JSON text (OpenAI sends arguments as a string).
    public var arguments: String

    public init(id: String = ToolCall.newID(), name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    /// A fresh id: `call_` and 24 random letters and digits.
    public static func newID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return "call_" + String((0..<24).map { _ in alphabet.randomElement()! })
    }
}

/// Whether and how the model may call the request's tools (OpenAI's `tool_choice`).
public enum ToolChoice: Sendable, Equatable {
    /// The model decides; calls are parsed from what it writes.
    case auto
    /// Tools are neither offered to the model nor parsed.
    case none
    /// The model must call one of the tools (its output is grammar-constrained to calls).
    case required
    /// The model must call this function.
    case function(String)
}

/// A function the request offers (`tools[i].function`).
public struct ToolFunction: Sendable, Equatable {
    public var name: String
    public var description: String?
    /// The JSON Schema of the arguments as JSON text (nil: any object).
    public var parameters: String?

    public init(name: String, description: String? = nil, parameters: String? = nil) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}

extension ToolFunction {
    /// The function of an OpenAI tool object (`{"type": "function", "function": {…}}`).
    public init?(tool: TemplateValue) {
        guard case .object(let t) = tool, case .object(let f)? = t["function"], case .string(let name)? = f["name"] else {
            return nil
        }
        var description: String?
        if case .string(let d)? = f["description"] { description = d }
        var parameters: String?
        if case .object(let p)? = f["parameters"] { parameters = TemplateValue.object(p).jsonString }
        self.init(name: name, description: description, parameters: parameters)
    }
}
