// Chat messages → prompt tokens through the model's own chat template (the Jinja source in its
// `tokenizer.chat_template` metadata), as llama-server does: the template is rendered with
// `messages`, `tools`, `add_generation_prompt`, `bos_token` and `eos_token`, and the text is
// tokenized with special-token parsing on, so the template's control strings (`<|im_start|>`,
// `<start_of_turn>`, …) become their control ids instead of being spelled out as text.

import ChatTemplates
import ModelFormats
import Tokenizers

/// Renders chat messages into a model's prompt.
public struct ChatPrompt: Sendable {
    /// The parsed template (the model's, or a default when it ships none: see
    /// `ChatTemplate.defaultSource(hasToken:)`).
    public let template: ChatTemplate
    /// Whether the model shipped its own template (false: a default is in use).
    public let isModelTemplate: Bool
    public let tokenizer: Tokenizer
    /// The text of the BOS and EOS tokens, passed to the template as `bos_token` / `eos_token`.
    public let bosToken: String
    public let eosToken: String

    /// The metadata key of a GGUF model's chat template.
    public static let metadataKey = "tokenizer.chat_template"

    /// A prompt builder for `tokenizer` with the template `source`. Nil or empty: Gemma's turn
    /// format when the vocabulary has its markers, else ChatML.
    public init(templateSource source: String?, tokenizer: Tokenizer) throws(ChatPromptError) {
        do {
            if let source, !source.isEmpty {
                template = try ChatTemplate(source)
            } else {
                template = try ChatTemplate(ChatTemplate.defaultSource { tokenizer.tokenID(forText: $0) != nil })
            }
        } catch {
            throw .invalidTemplate(String(describing: error))
        }
        isModelTemplate = !(source ?? "").isEmpty
        self.tokenizer = tokenizer
        bosToken = tokenizer.bosTokenID.flatMap { tokenizer.tokenText($0) } ?? ""
        eosToken = tokenizer.eosTokenID.flatMap { tokenizer.tokenText($0) } ?? ""
    }

    /// The prompt builder of a loaded model: its GGUF's template, its tokenizer.
    public init(model: TextModel) throws(ChatPromptError) {
        try self.init(templateSource: model.loaded.file[Self.metadataKey]?.stringValue, tokenizer: model.tokenizer)
    }

    /// The prompt text for `messages` (each an object with at least `role` and `content`, in
    /// the OpenAI shape), with `tools` when given and `extra` context variables.
    public func render(
        messages: [TemplateValue], tools: [TemplateValue]? = nil, addGenerationPrompt: Bool = true,
        extra: [String: TemplateValue] = [:]
    ) throws(ChatPromptError) -> String {
        guard !messages.isEmpty else { throw .noMessages }
        var context = extra
        context["messages"] = .array(messages.map(Self.normalized))
        if let tools, !tools.isEmpty { context["tools"] = .array(tools) }
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        context["bos_token"] = .string(bosToken)
        context["eos_token"] = .string(eosToken)
        do {
            return try template.render(context)
        } catch {
            throw .renderFailed(String(describing: error))
        }
    }

    /// The prompt token ids for `messages`. The text is tokenized with special tokens parsed;
    /// BOS is added as the tokenizer's metadata asks, but never twice when the template already
    /// starts with it.
    public func tokens(
        messages: [TemplateValue], tools: [TemplateValue]? = nil, addGenerationPrompt: Bool = true,
        extra: [String: TemplateValue] = [:]
    ) throws(ChatPromptError) -> [Int] {
        let text = try render(messages: messages, tools: tools, addGenerationPrompt: addGenerationPrompt, extra: extra)
        return encode(text)
    }

    /// Tokenizes rendered prompt text (special tokens parsed, one BOS at most).
    public func encode(_ text: String) -> [Int] {
        var ids = tokenizer.encode(text, addSpecialTokens: true, parseSpecial: true).map(Int.init)
        if tokenizer.addBOS, let bos = tokenizer.bosTokenID.map(Int.init), ids.count >= 2, ids[0] == bos, ids[1] == bos {
            ids.removeFirst()
        }
        return ids
    }

    /// OpenAI lets `content` be an array of parts (`{"type": "text", "text": …}`); templates
    /// written for plain strings expect a string, so text-only part lists are joined. A null
    /// content (an assistant turn with tool calls) stays null.
    static func normalized(_ message: TemplateValue) -> TemplateValue {
        guard case .object(var object) = message, case .array(let parts)? = object["content"] else { return message }
        var texts: [String] = []
        for part in parts {
            guard case .object(let p) = part, case .string(let type)? = p["type"], type == "text",
                  case .string(let text)? = p["text"] else { return message }
            texts.append(text)
        }
        object["content"] = .string(texts.joined(separator: "\n"))
        return .object(object)
    }
}

/// A chat that cannot become a prompt.
public enum ChatPromptError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidTemplate(String)
    case renderFailed(String)
    case noMessages

    public var description: String {
        switch self {
        case .invalidTemplate(let why): "The model's chat template cannot be parsed: \(why)"
        case .renderFailed(let why): "The model's chat template rejected these messages: \(why)"
        case .noMessages: "A chat needs at least one message."
        }
    }
}
