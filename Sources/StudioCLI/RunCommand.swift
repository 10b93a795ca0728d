import ArgumentParser
import Foundation
import Inference

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Complete a raw prompt with a model on the local engine, streaming the text.",
        discussion: """
            The prompt is used as it is (no chat template). A catalog alias that is not installed
            yet is pulled first. With --temperature 0 decoding is greedy.

            Examples:
              studio run qwen2.5-coder:0.5b "def fibonacci(n):"
              studio run smollm2:135m "The capital of France is" --temperature 0 --max-tokens 16
              studio run gemma3:270m "Once upon a time" --seed 42 --json
              studio run qwen2.5-coder:0.5b "A user record as JSON:" --json-schema user.schema.json
              studio run qwen2.5-coder:0.5b "Answer yes or no:" --grammar yesno.gbnf
            """)

    @OptionGroup var options: ModelOptions

    @Argument(help: "The prompt text.")
    var prompt: String

    @Option(name: .customLong("max-tokens"), help: "The most tokens to generate.")
    var maxTokens: Int = 256

    @Option(help: "Sampling temperature; 0 decodes greedily.")
    var temperature: Float = 0.8

    @Option(name: .customLong("top-k"), help: "Keep only the k most likely tokens (0: off).")
    var topK: Int = 40

    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass (1: off).")
    var topP: Float = 0.95

    @Option(name: .customLong("min-p"), help: "Drop tokens below this fraction of the top probability (0: off).")
    var minP: Float = 0.05

    @Option(name: .customLong("repeat-penalty"), help: "Repetition penalty (1: off).")
    var repeatPenalty: Float = 1

    @Option(name: .customLong("presence-penalty"), help: "Presence penalty.")
    var presencePenalty: Float = 0

    @Option(name: .customLong("frequency-penalty"), help: "Frequency penalty.")
    var frequencyPenalty: Float = 0

    @Option(help: "Random seed; the same seed gives the same output.")
    var seed: UInt64?

    @Option(help: "A string that ends the generation (repeatable).")
    var stop: [String] = []

    @Option(name: .customLong("ctx"), help: "Context length to allocate (default: the model's, at most 4096).")
    var context: Int?

    @Flag(help: "Recognise special tokens written in the prompt (e.g. <|im_start|>).")
    var special = false

    @Option(name: .customLong("json-schema"), help: "A JSON Schema file: the output is JSON that follows it.")
    var jsonSchema: String?

    @Option(help: "A GBNF grammar file (start rule `root`): the output follows it.")
    var grammar: String?

    @Flag(help: "Print one JSON object at the end instead of streaming: text, token_ids, prompt_token_ids, prompt_tokens_per_second, tokens_per_second.")
    var json = false

    func validate() throws {
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1, got \(maxTokens).") }
        if let context, context < 2 { throw ValidationError("--ctx must be at least 2, got \(context).") }
        if jsonSchema != nil && grammar != nil {
            throw ValidationError("Give either --json-schema or --grammar, not both.")
        }
    }

    /// The grammar the options ask for, read and checked before the model loads.
    func grammarSpec() throws(GrammarFileError) -> GrammarSpec? {
        let (path, kind) = jsonSchema.map { ($0, "JSON Schema") } ?? grammar.map { ($0, "grammar") } ?? (nil, "")
        guard let path else { return nil }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, kind: kind, reason: (error as NSError).localizedDescription)
        }
        let spec: GrammarSpec = jsonSchema != nil ? .jsonSchema(text) : .gbnf(text)
        do {
            _ = try spec.compile()
        } catch {
            throw .invalid(path: path, kind: kind, error: error)
        }
        return spec
    }

    func run() async throws {
        try await reportingErrors {
            let spec = try grammarSpec()
            let model = try await options.load()
            let parameters = GenerateParameters(
                temperature: temperature, topK: topK, topP: topP, minP: minP, repetitionPenalty: repeatPenalty,
                presencePenalty: presencePenalty, frequencyPenalty: frequencyPenalty, seed: seed,
                maxTokens: maxTokens, stop: stop, grammar: spec)
            let streaming = !json
            let result = try model.complete(prompt: prompt, parameters: parameters, contextLength: context, parseSpecial: special) { event in
                guard streaming else { return }
                switch event {
                case let .token(t): Terminal.write(t.text)
                case let .text(s): Terminal.write(s)
                case .finished: break
                }
            }
            if json {
                let object: [String: Any] = [
                    "text": result.text,
                    "token_ids": result.tokens,
                    "prompt_token_ids": result.promptTokens,
                    "prompt_tokens_per_second": result.timing.promptTokensPerSecond,
                    "tokens_per_second": result.timing.generationTokensPerSecond,
                    "finish_reason": result.finishReason.rawValue,
                    "seed": result.seed,
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } else {
                Terminal.write("\n")
            }
            // The text so far is shown (or in the JSON), but the run failed: it is not valid output.
            if result.finishReason == .grammarDeadEnd {
                throw GrammarDeadEnd(option: jsonSchema != nil ? "--json-schema" : "--grammar", tokens: result.timing.generatedTokens)
            }
            if !json {
                let t = result.timing
                Terminal.error(String(format: "[%d prompt tokens at %.1f tok/s, %d generated at %.1f tok/s, finish: %@]",
                                      t.promptTokens, t.promptTokensPerSecond, t.generatedTokens, t.generationTokensPerSecond, result.finishReason.rawValue))
            }
        }
    }
}

/// Generation stopped because the grammar allows no token of the model's vocabulary next.
struct GrammarDeadEnd: Error, CustomStringConvertible {
    let option: String
    let tokens: Int

    var description: String {
        "The output is incomplete: after \(tokens) tokens no token of the model's vocabulary fits what the \(option) file requires next."
    }
}

/// A --json-schema or --grammar file that cannot be used.
enum GrammarFileError: Error, CustomStringConvertible {
    case unreadable(path: String, kind: String, reason: String)
    case invalid(path: String, kind: String, error: GrammarError)

    var description: String {
        switch self {
        case let .unreadable(path, kind, reason):
            "Cannot read the \(kind) file \(path): \(reason)"
        case let .invalid(path, kind, error):
            "The \(kind) in \(path) cannot be used. \(error.description)"
        }
    }
}
