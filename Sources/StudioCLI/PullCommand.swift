import ArgumentParser
import Foundation
import ModelHub

struct Pull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a model into the cache, verify its sha256 and install it.",
        discussion: """
            MODEL is a catalog alias (see `studio models --available`), hf:OWNER/REPO/FILE, an https:// URL
            or a local file. Sources are tried in order; the one used is printed. An interrupted pull
            resumes when run again; pulling an installed model downloads nothing.

            Examples:
              studio pull qwen2.5-coder:0.5b
              studio pull hf:Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
              studio pull ./my-model.gguf
            """)

    @Argument(help: "A catalog alias, hf:OWNER/REPO/FILE, an https:// URL, or a local path.")
    var model: String

    func run() async throws {
        try await reportingErrors {
            let bar = ProgressBar()
            let result = try await ModelPuller().pull(model) { bar.show($0, pulling: model) }
            bar.breakLine()
            if result.downloaded {
                let sha = result.model.files.count == 1 ? " sha256 \(result.model.files[0].sha256)" : ""
                print("installed \(result.model.name) (\(Terminal.bytes(result.model.size)))\(sha) from \(result.source ?? "?")")
                print(result.model.path)
            }
        }
    }
}
