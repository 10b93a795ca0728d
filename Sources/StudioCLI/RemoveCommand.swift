import ArgumentParser
import ModelHub

struct Remove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove an installed model from the cache.",
        discussion: "Example:\n  studio rm smollm2:135m")

    @Argument(help: "An installed alias or name.")
    var model: String

    func run() async throws {
        try await reportingErrors {
            let freed = try ModelStore().remove(model)
            print("removed \(model) (\(Terminal.bytes(freed)) freed)")
        }
    }
}
