import ArgumentParser
import Foundation
import Inference
import ModelFormats
import Tokenizers

struct Tokenize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the token ids of a text under a model's tokenizer.",
        discussion: """
            BOS/EOS are added as the model's metadata asks. Special tokens such as <|im_start|> are
            recognised only with --special; otherwise they are tokenized as the plain text they spell.

            Examples:
              studio tokenize qwen2.5-coder:0.5b "Hello, world"
              studio tokenize qwen2.5-coder:0.5b "<|im_start|>user" --special --json
              studio tokenize gemma3:270m --file notes.txt --json
            """)

    @Argument(help: "An alias, an installed name, or a path to a GGUF file.")
    var model: String

    @Argument(help: "The text to tokenize (or use --file).")
    var text: String?

    @Option(help: "Read the text from this file instead.")
    var file: String?

    @Flag(help: "Recognise special and control tokens written in the text.")
    var special = false

    @Flag(help: "Print a JSON array of ids.")
    var json = false

    @Flag(help: "Print each id with the text of its token.")
    var pieces = false

    func validate() throws {
        if (text == nil) == (file == nil) { throw ValidationError("Give either TEXT or --file, not both or neither.") }
    }

    func run() async throws {
        try await reportingErrors {
            let path = try await ModelOptions(model: model).resolvePath()
            let input: String
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("Cannot read \(file).") }
                guard let s = String(data: data, encoding: .utf8) else { throw ValidationError("\(file) is not valid UTF-8 text.") }
                input = s
            } else {
                input = text ?? ""
            }
            let tokenizer = try Tokenizer.load(from: try GGUFFile(path: path))
            let ids = tokenizer.encode(input, parseSpecial: special)
            if json {
                print("[" + ids.map(String.init).joined(separator: ",") + "]")
            } else if pieces {
                for id in ids { print("\(id)\t\(tokenizer.displayText(id).debugDescription)") }
            } else {
                print(ids.map(String.init).joined(separator: " "))
            }
        }
    }
}

extension ModelOptions {
    init(model: String, threads: Int? = nil) {
        self.init()
        self.model = model
        self.threads = threads
    }
}
