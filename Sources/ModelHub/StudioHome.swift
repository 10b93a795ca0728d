import Foundation

/// Where Studio keeps its files: `STUDIO_HOME`, by default `~/.cache/studio`.
///
///     models/<name>.gguf          an installed GGUF model
///     models/<name>/              an installed multi-file model (safetensors + tokenizer.json)
///     models/<name>.manifest.json what was installed, from where, with its sha256
///     downloads/<name>/           partial downloads, resumable; removed once installed
public struct StudioHome: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> StudioHome {
        if let custom = env["STUDIO_HOME"], !custom.isEmpty { return StudioHome(root: URL(fileURLWithPath: custom)) }
        let home = env["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        return StudioHome(root: home.appendingPathComponent(".cache/studio"))
    }

    public var models: URL { root.appendingPathComponent("models") }
    public var downloads: URL { root.appendingPathComponent("downloads") }

    public func modelPath(_ name: String, kind: ModelKind) -> URL {
        kind == .gguf ? models.appendingPathComponent("\(name).gguf") : models.appendingPathComponent(name)
    }

    public func manifestPath(_ name: String) -> URL { models.appendingPathComponent("\(name).manifest.json") }

    public func downloadDirectory(_ name: String) -> URL { downloads.appendingPathComponent(name) }

    func prepare() throws {
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: downloads, withIntermediateDirectories: true)
    }
}
