import ArgumentParser

@main
struct Studio: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "studio",
        abstract: "A self-hosted AI model studio: run, serve and work with open-weight models on your own machine.",
        discussion: """
            Models live in $STUDIO_HOME (default ~/.cache/studio). Examples:
              studio pull qwen2.5-coder:0.5b        download the default model
              studio inspect qwen2.5-coder:0.5b     show its metadata and quant mix
              studio models                         list installed models
              studio run qwen2.5-coder:0.5b "def fib(n):"   complete a prompt
            """,
        version: "0.1.0",
        subcommands: [Run.self, Chat.self, Serve.self, Tokenize.self, PerplexityCommand.self, BenchCommand.self, Pull.self, Models.self, Inspect.self, Remove.self, Keys.self, Logs.self, Prompts.self]
    )
}
