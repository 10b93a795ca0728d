import ChatTemplates
import Foundation

/// One message of a stored prompt.
public struct PromptMessage: Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// What a save stores: the template, and the model and parameters it is meant for.
public struct PromptDraft: Sendable, Equatable {
    public var system: String
    public var messages: [PromptMessage]
    public var model: String?
    /// OpenAI request fields (`temperature`, `max_tokens`, …) as a JSON object.
    public var parameters: TemplateObject
    public var note: String?

    public init(system: String, messages: [PromptMessage] = [], model: String? = nil, parameters: TemplateObject = TemplateObject(),
                note: String? = nil) {
        self.system = system
        self.messages = messages
        self.model = model
        self.parameters = parameters
        self.note = note
    }

    /// Parses the JSON text of a prompt file (see `init(json:)`).
    public init(jsonText: String) throws(StoreError) {
        let value: TemplateValue
        do { value = try TemplateValue(jsonString: jsonText) } catch { throw .invalid("The prompt file is not valid JSON: \(error).") }
        try self.init(json: value)
    }

    /// Reads `{"system", "messages": [{"role", "content"}], "model"?, "parameters"?, "note"?}`;
    /// throws `StoreError.invalid` naming the field that is wrong.
    public init(json: TemplateValue) throws(StoreError) {
        guard case .object(let o) = json else { throw .invalid("A prompt must be a JSON object with 'system' and 'messages'.") }
        switch o["system"] {
        case .string(let s)?: system = s
        case nil, .null?: system = ""
        default: throw .invalid("'system' must be a string.")
        }
        messages = []
        switch o["messages"] {
        case nil, .null?: break
        case .array(let items)?:
            for (i, item) in items.enumerated() {
                guard case .object(let m) = item, case .string(let role)? = m["role"], case .string(let content)? = m["content"] else {
                    throw .invalid("messages[\(i)] must be an object with string 'role' and 'content'.")
                }
                messages.append(PromptMessage(role: role, content: content))
            }
        default: throw .invalid("'messages' must be an array of {role, content} objects.")
        }
        switch o["model"] {
        case .string(let s)? where !s.isEmpty: model = s
        case nil, .null?, .string?: model = nil
        default: throw .invalid("'model' must be a string.")
        }
        switch o["parameters"] {
        case .object(let p)?: parameters = p
        case nil, .null?: parameters = TemplateObject()
        default: throw .invalid("'parameters' must be an object such as {\"temperature\": 0.2}.")
        }
        switch o["note"] {
        case .string(let s)?: note = s
        case nil, .null?: note = nil
        default: throw .invalid("'note' must be a string.")
        }
        guard !system.isEmpty || !messages.isEmpty else { throw .invalid("A prompt needs a 'system' text or at least one message.") }
    }
}

/// A saved, immutable version of a named prompt.
public struct PromptVersion: Sendable, Equatable {
    public var name: String
    public var version: Int
    public var created: Date
    public var draft: PromptDraft

    public init(name: String, version: Int, created: Date, draft: PromptDraft) {
        self.name = name
        self.version = version
        self.created = created
        self.draft = draft
    }

    /// The `{{variables}}` the version uses, in order of first use.
    public var variables: [String] {
        var seen: [String] = []
        for text in [draft.system] + draft.messages.map(\.content) {
            for v in PromptTemplate.variables(in: text) where !seen.contains(v) { seen.append(v) }
        }
        return seen
    }

    /// The parameters as compact JSON text.
    public var parametersText: String { TemplateValue.object(draft.parameters).jsonString }

    /// The version as lines for a diff: the system text, then each message as `role: content`.
    public var text: String {
        var parts: [String] = []
        if !draft.system.isEmpty { parts.append("system: " + draft.system) }
        parts += draft.messages.map { "\($0.role): \($0.content)" }
        return parts.joined(separator: "\n")
    }

    /// The system message and the messages with `values` filled in, as OpenAI-shaped messages.
    public func render(_ values: [String: TemplateValue]) throws(PromptRenderError) -> [TemplateValue] {
        var out: [TemplateValue] = []
        if !draft.system.isEmpty {
            out.append(.object([("role", "system"), ("content", .string(try PromptTemplate.render(draft.system, values)))]))
        }
        for m in draft.messages {
            out.append(.object([("role", .string(m.role)), ("content", .string(try PromptTemplate.render(m.content, values)))]))
        }
        return out
    }
}

/// A prompt's name, latest version, labels and time of its last change.
public struct PromptSummary: Sendable, Equatable {
    public var name: String
    public var latestVersion: Int
    public var labels: [String: Int]
    public var updated: Date
}

/// A prompt with every version and its labels.
public struct Prompt: Sendable, Equatable {
    public var name: String
    public var versions: [PromptVersion]
    public var labels: [String: Int]
}

/// Named prompts as features use them.
public protocol PromptRepository: Sendable {
    /// Saves `draft` as the next version of `name` (creating the prompt); returns the version.
    func save(name: String, _ draft: PromptDraft) throws(StoreError) -> PromptVersion
    func list() throws(StoreError) -> [PromptSummary]
    /// The prompt with all its versions; throws `notFound` when there is none by that name.
    func prompt(named name: String) throws(StoreError) -> Prompt
    /// One version, by number or label (`PromptReference.Selector`); throws `notFound`.
    func version(named name: String, _ selector: PromptReference.Selector) throws(StoreError) -> PromptVersion
    /// Points `label` at `version` (moving it if it pointed elsewhere).
    func setLabel(_ label: String, name: String, version: Int) throws(StoreError)
}
