import ArgumentParser
import Foundation
import Inference

struct PerplexityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Measure a model's perplexity on a text file, the way llama.cpp's perplexity tool does.",
        discussion: """
            The text is tokenized once and cut into non-overlapping chunks of --ctx tokens (a BOS
            starts each chunk where the model adds one; the last partial chunk is dropped); only
            the second half of each chunk is scored. The last line is `PPL = X +/- Y`.

            Examples:
              studio perplexity qwen2.5-coder:0.5b ../shared/reference/texts/MPL-2.0.txt
              studio perplexity smollm2:135m corpus.txt --ctx 1024 --json
            """)

    @OptionGroup var options: ModelOptions

    @Argument(help: "A UTF-8 text file.")
    var file: String

    @Option(help: "Tokens per chunk.")
    var ctx: Int = 512

    @Flag(help: "Print JSON: ppl, plus_minus, chunks.")
    var json = false

    func validate() throws {
        if ctx < 4 { throw ValidationError("--ctx must be at least 4, got \(ctx).") }
    }

    func run() async throws {
        try await reportingErrors {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("Cannot read \(file).") }
            guard let text = String(data: data, encoding: .utf8) else { throw ValidationError("\(file) is not valid UTF-8 text.") }
            let model = try await options.load()
            if ctx > model.config.contextLength {
                throw ValidationError("--ctx \(ctx) is larger than the model's context of \(model.config.contextLength).")
            }
            let quiet = json
            let result = try model.perplexity(text: text, context: ctx) { p in
                if !quiet { Terminal.error(String(format: "[%d/%d] ppl %.4f", p.chunk, p.chunks, p.ppl)) }
            }
            if json {
                let object: [String: Any] = ["ppl": result.ppl, "plus_minus": result.plusMinus, "chunks": result.chunks, "ctx": ctx]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print("chunks \(result.chunks), ctx \(ctx), scored tokens \(result.scoredTokens)")
                print(String(format: "PPL = %.4f +/- %.5f", result.ppl, result.plusMinus))
            }
        }
    }
}
