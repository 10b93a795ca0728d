import ArgumentParser
import Backends
import ChatTemplates
import Foundation
import Inference

struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chat with a model in the terminal, with history, using the model's own chat template.",
        discussion: """
            Type a message and press Enter; the reply streams as it is generated. Commands:
            /reset forgets the conversation, /exit (or end of input) leaves. Each turn reuses the
            cached prompt of the previous ones, so long chats stay fast.

            Examples:
              studio chat qwen2.5-coder:0.5b
              studio chat smollm2:135m --system "You are a terse assistant." --temperature 0
            """)

    @OptionGroup var options: ModelOptions

    @Option(help: "A system message that starts the conversation.")
    var system: String?

    @Option(name: .customLong("max-tokens"), help: "The most tokens per reply.")
    var maxTokens = 1024

    @Option(help: "Sampling temperature; 0 decodes greedily.")
    var temperature: Float = 0.7

    @Option(help: "Random seed; the same seed gives the same replies.")
    var seed: UInt64?

    @Option(name: .customLong("ctx"), help: "Context length to allocate (default: the model's, at most 4096).")
    var context: Int?

    func validate() throws {
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1, got \(maxTokens).") }
        if let context, context < 16 { throw ValidationError("--ctx must be at least 16, got \(context).") }
        if !temperature.isFinite || temperature < 0 { throw ValidationError("--temperature must be 0 or more, got \(temperature).") }
    }

    func run() async throws {
        try await reportingErrors {
            let path = try await options.resolvePath()
            let name = options.model
            let threads = options.threads
            let backend = LocalBackend(
                models: [.file(id: name, path: path, threads: threads)],
                options: .init(slots: 1, contextLength: context, maxQueued: 1, keepAlive: nil))
            var history: [TemplateValue] = []
            if let system { history.append(["role": "system", "content": .string(system)]) }
            let interactive = Terminal.isInteractive
            Terminal.error("Chatting with \(name). /reset forgets the conversation, /exit leaves.")
            while true {
                if interactive { Terminal.write(">>> ") }
                guard let line = readLine(strippingNewline: true) else { break }
                let text = line.trimmingCharacters(in: .whitespaces)
                if text.isEmpty { continue }
                if text == "/exit" || text == "/quit" || text == "/bye" { break }
                if text == "/reset" {
                    history.removeAll { if case .object(let o) = $0 { o["role"] != "system" } else { true } }
                    Terminal.error("(conversation forgotten)")
                    continue
                }
                history.append(["role": "user", "content": .string(line)])
                var parameters = GenerateParameters(temperature: temperature, seed: seed, maxTokens: maxTokens)
                parameters.seed = seed
                let response: BackendResponse
                do {
                    response = try await backend.chat(ChatRequest(model: name, messages: history, parameters: parameters))
                } catch let error as BackendError {
                    history.removeLast()
                    Terminal.error("error: \(error.description)")
                    if case .contextLengthExceeded = error { Terminal.error("Type /reset to start a new conversation.") }
                    continue
                }
                var reply = ""
                var finish: ChoiceFinishReason?
                for try await event in response.events {
                    switch event {
                    case let .text(_, piece, _, _):
                        reply += piece
                        Terminal.write(piece)
                    case let .finish(_, reason): finish = reason
                    case .usage, .toolCall, .reasoning, .prompt: break
                    }
                }
                Terminal.write("\n")
                if finish == .length { Terminal.error("(reply cut at --max-tokens \(maxTokens))") }
                history.append(["role": "assistant", "content": .string(reply)])
            }
            await backend.shutdown()
        }
    }
}
