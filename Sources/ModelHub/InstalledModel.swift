import Foundation

/// The manifest written beside an installed model: what it is, where it came from, its hashes.
public struct InstalledModel: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        public let name: String
        public let size: Int64
        public let sha256: String
    }

    public let name: String
    public let alias: String?
    public let kind: ModelKind
    public let source: String
    public let files: [File]
    public let installedAt: Date
    /// The GGUF file, or the bundle's folder.
    public let path: String

    public var size: Int64 { files.reduce(0) { $0 + $1.size } }
}

/// The models installed under a StudioHome: listing, resolving a name to a path, removing.
public struct ModelStore: Sendable {
    public let home: StudioHome

    public init(home: StudioHome = .fromEnvironment()) { self.home = home }

    public func installed() -> [InstalledModel] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: home.models.path) else { return [] }
        return names.filter { $0.hasSuffix(".manifest.json") }.sorted().compactMap { file in
            guard let data = fm.contents(atPath: home.models.appendingPathComponent(file).path),
                  let manifest = try? Self.decoder.decode(InstalledModel.self, from: data),
                  fm.fileExists(atPath: manifest.path)
            else { return nil }
            return manifest
        }
    }

    public func manifest(named name: String) -> InstalledModel? {
        installed().first { $0.name == name || $0.alias == name }
    }

    /// Resolves what a user typed (an alias, an installed name, or a path) to an installed model
    /// file or folder. Throws `notInstalled` for a known alias not yet pulled, `unknownModel` otherwise.
    public func resolve(_ spec: String) throws -> URL {
        if let m = manifest(named: spec) ?? Catalog.entry(spec).flatMap({ manifest(named: $0.name) }) {
            return URL(fileURLWithPath: m.path)
        }
        if spec.contains("/") || spec.hasSuffix(".gguf") {
            guard FileManager.default.fileExists(atPath: spec) else { throw HubError.io("No such file: \(spec).") }
            return URL(fileURLWithPath: spec)
        }
        if Catalog.entry(spec) != nil { throw HubError.notInstalled(spec) }
        throw HubError.unknownModel(spec, known: Catalog.entries.map(\.alias) + installed().map(\.name).filter { n in !Catalog.entries.contains { $0.name == n } })
    }

    /// Removes an installed model and its manifest; returns the bytes freed.
    @discardableResult
    public func remove(_ spec: String) throws -> Int64 {
        let name = Catalog.entry(spec)?.name ?? spec
        guard let m = manifest(named: name) else {
            if Catalog.entry(spec) != nil { throw HubError.notInstalled(spec) }
            throw HubError.unknownModel(spec, known: installed().map(\.name))
        }
        let fm = FileManager.default
        try fm.removeItem(atPath: m.path)
        try? fm.removeItem(at: home.manifestPath(m.name))
        try? fm.removeItem(at: home.downloadDirectory(m.name))
        return m.size
    }

    func write(_ manifest: InstalledModel) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(manifest)
        try data.write(to: home.manifestPath(manifest.name), options: .atomic)
    }

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()
}
