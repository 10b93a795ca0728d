import Kernels
import ModelFormats
import Models
import Tokenizers

/// A language model together with its tokenizer: what the CLI's `run`, `tokenize` and
/// `perplexity` (and later the server) call.
public final class TextModel: Sendable {
    public let loaded: LoadedModel
    public let tokenizer: Tokenizer

    public init(loaded: LoadedModel, tokenizer: Tokenizer) {
        self.loaded = loaded
        self.tokenizer = tokenizer
    }

    /// Maps the GGUF at `path`, builds its model and tokenizer.
    public static func load(path: String, threads: Int? = nil) throws -> TextModel {
        let loaded = try ModelLoader.load(path: path, threads: threads)
        return TextModel(loaded: loaded, tokenizer: try Tokenizer.load(from: loaded.file))
    }

    public var config: ModelConfig { loaded.config }

    /// Token ids of `text`, with BOS/EOS as the model's metadata asks.
    public func tokenize(_ text: String, parseSpecial: Bool = false, addSpecialTokens: Bool = true) -> [Int] {
        tokenizer.encode(text, addSpecialTokens: addSpecialTokens, parseSpecial: parseSpecial).map(Int.init)
    }

    /// The end-of-generation ids (EOS, end-of-turn, …) as plain Ints.
    public var endOfGeneration: Set<Int> { Set(tokenizer.endOfGenerationTokenIDs.map(Int.init)) }

    /// Generates a completion of `prompt` (raw text, no chat template) in a fresh context of
    /// `contextLength` positions (default: the smaller of the model's and 4096).
    public func complete(
        prompt: String, parameters: GenerateParameters, contextLength: Int? = nil, parseSpecial: Bool = false,
        onEvent: (GenerationEvent) throws -> Void = { _ in }
    ) throws -> GenerationResult {
        let ids = tokenize(prompt, parseSpecial: parseSpecial)
        return try complete(tokens: ids, parameters: parameters, contextLength: contextLength, onEvent: onEvent)
    }

    public func complete(
        tokens: [Int], parameters: GenerateParameters, contextLength: Int? = nil,
        onEvent: (GenerationEvent) throws -> Void = { _ in }
    ) throws -> GenerationResult {
        let capacity = try resolvedContext(contextLength)
        let cache = try loaded.makeCache(capacity: capacity)
        let tokenizer = self.tokenizer
        var generator = try Generator(
            source: ModelLogitsSource(model: loaded.model, cache: cache), parameters: parameters,
            endOfGeneration: endOfGeneration, detokenize: { tokenizer.tokenBytes($0) },
            grammarVocabulary: parameters.grammar == nil ? nil : GrammarVocabulary.shared(for: tokenizer),
            appendTokenBytes: { token, out in
                if let id = TokenID(exactly: token) { tokenizer.appendTokenBytes(id, to: &out) }
            })
        return try generator.generate(prompt: tokens, onEvent: onEvent)
    }

    /// The context to allocate: what was asked, within 1 ... the model's training context.
    public func resolvedContext(_ requested: Int?) throws -> Int {
        let trained = config.contextLength
        guard let requested else { return min(trained, 4096) }
        guard requested >= 1, requested <= trained else { throw TextModelError.contextOutOfRange(requested: requested, trained: trained) }
        return requested
    }

    /// Perplexity of `text` the way llama.cpp's perplexity tool measures it.
    public func perplexity(text: String, context: Int, progress: ((Perplexity.Progress) -> Void)? = nil) throws -> Perplexity.Result {
        let ids = tokenize(text)
        let bos = tokenizer.addBOS ? tokenizer.bosTokenID.map(Int.init) : nil
        return try Perplexity.evaluate(model: loaded.model, tokens: ids, context: context, bos: bos, progress: progress)
    }
}

public enum TextModelError: Error, Equatable, CustomStringConvertible {
    case contextOutOfRange(requested: Int, trained: Int)

    public var description: String {
        switch self {
        case let .contextOutOfRange(requested, trained):
            "A context of \(requested) tokens is not possible: it must be between 1 and the model's \(trained)."
        }
    }
}

/// Adapts a model and its KV cache to the generator's `LogitsSource`; the logits buffer is
/// reused from step to step.
public struct ModelLogitsSource: LogitsSource {
    public let model: any LanguageModel
    public let cache: KVCache
    private var logits: [Float] = []
    /// The one token of a decode step, reused so a step allocates nothing.
    private var stepToken: [Int] = [0]

    public init(model: any LanguageModel, cache: KVCache) {
        self.model = model
        self.cache = cache
    }

    public var contextLength: Int { cache.capacity }
    public var vocabularySize: Int { model.config.vocabularySize }
    public var count: Int { cache.count }

    public mutating func prefill(_ tokens: [Int]) throws -> [Float] {
        try model.forward(tokens: tokens, cache: cache, logits: .last, into: &logits)
        return logits
    }

    public mutating func step(_ token: Int) throws -> [Float] {
        stepToken[0] = token
        try model.forward(tokens: stepToken, cache: cache, logits: .last, into: &logits)
        return logits
    }
}
