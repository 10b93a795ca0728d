import Crypto
import Foundation
import Testing

@Suite struct FoundationCommandsTests {
    @Test func helpExplainsEveryCommandWithExamples() throws {
        let top = try StudioProcess.run(["--help"])
        #expect(top.status == 0)
        for command in ["pull", "models", "inspect", "rm"] { #expect(top.stdout.contains(command)) }
        for command in ["pull", "models", "inspect", "rm"] {
            let help = try StudioProcess.run([command, "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("Example"), "\(command) --help shows examples")
        }
    }

    func inspect(_ alias: String) throws -> [String: Any] {
        let out = try StudioProcess.run(["inspect", alias, "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
    }

    @Test func inspectReportsTheDefaultModel() throws {
        _ = try StudioProcess.modelPath("qwen2.5-coder-0.5b")
        let j = try inspect("qwen2.5-coder:0.5b")
        #expect(j["architecture"] as? String == "qwen2")
        #expect(j["blockCount"] as? Int == 24)
        #expect(j["embeddingLength"] as? Int == 896)
        #expect(j["tensorCount"] as? Int == 291)
        #expect(j["hasChatTemplate"] as? Bool == true)
        let mix = try #require(j["quantMix"] as? [[String: Any]])
        #expect(Set(mix.compactMap { $0["type"] as? String }) == ["Q5_0", "Q8_0", "Q6_K", "Q4_K", "F32"])
        #expect(mix.reduce(0) { $0 + ($1["tensors"] as? Int ?? 0) } == 291)
    }

    @Test func inspectReportsSmolLMAndGemma() throws {
        _ = try StudioProcess.modelPath("smollm2-135m")
        _ = try StudioProcess.modelPath("gemma3-270m")
        let smol = try inspect("smollm2:135m")
        #expect(smol["architecture"] as? String == "llama")
        #expect(smol["tensorCount"] as? Int == 272)
        let gemma = try inspect("gemma3:270m")
        #expect(gemma["architecture"] as? String == "gemma3")
        #expect(gemma["tensorCount"] as? Int == 236)
    }

    /// The files `studio pull` installed are byte-exact: size and a fresh sha256 of each.
    @Test(arguments: [
        ("qwen2.5-coder-0.5b", 491_400_064, "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
        ("smollm2-135m", 98_362_432, "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
        ("gemma3-270m", 253_113_024, "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"),
        ("qwen2.5-coder-1.5b", 1_117_320_768, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    ])
    func pulledModelsAreByteExact(name: String, size: Int, sha: String) throws {
        let path = try StudioProcess.modelPath(name)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.size] as? Int) == size)
        let handle = try #require(FileHandle(forReadingAtPath: path))
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 16 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        #expect(hasher.finalize().map { String(format: "%02x", $0) }.joined() == sha)
    }

    @Test func aSecondPullDownloadsNothing() throws {
        _ = try StudioProcess.modelPath("smollm2-135m")
        let out = try StudioProcess.run(["pull", "smollm2:135m"])
        #expect(out.status == 0)
        #expect(out.stdout.contains("already installed"))
        #expect(!out.stdout.contains("downloaded"))
    }

    @Test func badInputGetsOneClearSentenceAndAFailureStatus() throws {
        let unknown = try StudioProcess.run(["inspect", "nonexistent:7b"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("Unknown model \"nonexistent:7b\""))

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let notGGUF = dir.appendingPathComponent("notes.gguf")
        try Data("hello".utf8).write(to: notGGUF)
        let bad = try StudioProcess.run(["inspect", notGGUF.path])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("Not a GGUF file"))

        // A real model cut in half: the tensor table points past the end.
        let real = try StudioProcess.modelPath("smollm2-135m")
        let half = dir.appendingPathComponent("half.gguf")
        let handle = try #require(FileHandle(forReadingAtPath: real))
        try handle.read(upToCount: 40_000_000)!.write(to: half)
        try handle.close()
        let truncated = try StudioProcess.run(["inspect", half.path])
        #expect(truncated.status != 0)
        #expect(truncated.stderr.contains("points past the end"))

        let rm = try StudioProcess.run(["rm", "nonexistent:7b"], environment: ["STUDIO_HOME": dir.path])
        #expect(rm.status != 0 && rm.stderr.hasPrefix("error: "))
    }
}
