import ArgumentParser
import Foundation
import Inference
import ModelHub

/// Options shared by the commands that run a model.
struct ModelOptions: ParsableArguments {
    @Argument(help: "An alias (pulled on first use), an installed name, or a path to a GGUF file.")
    var model: String

    @Option(help: "Threads for the engine (default: every core).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 || threads > 512 { throw ValidationError("--threads must be between 1 and 512, got \(threads).") }
    }

    /// The model's file, pulling a catalog alias first if it is not installed yet.
    func resolvePath() async throws -> String {
        try CPUSupport.check()
        let store = ModelStore()
        do {
            return try store.resolve(model).path
        } catch HubError.notInstalled {
            Terminal.error("\(model) is not installed yet; pulling it first.")
            let bar = ProgressBar(stream: .standardError)
            let result = try await ModelPuller().pull(model) { bar.show($0, pulling: model) }
            bar.breakLine()
            return result.model.path
        }
    }

    func load() async throws -> TextModel {
        let path = try await resolvePath()
        return try TextModel.load(path: path, threads: threads)
    }
}
