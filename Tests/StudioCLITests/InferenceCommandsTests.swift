import Foundation
import Testing

/// The CLI contracts that benchmarks and users call: `studio tokenize` and `studio run`, checked
/// against llama.cpp's reference outputs on a real model.
@Suite struct InferenceCommandsTests {
    static var reference: URL {
        if let dir = ProcessInfo.processInfo.environment["STUDIO_REFERENCE_DIR"] { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/reference").standardized
    }

    func json(_ file: String) throws -> [String: Any] {
        let data = try Data(contentsOf: Self.reference.appendingPathComponent(file))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func tokenizeJSONMatchesLlamaCppWithAndWithoutSpecial() throws {
        _ = try StudioProcess.modelPath("qwen2.5-coder-0.5b")
        let cases = try #require(try json("tokenizer/qwen2.5-coder-0.5b.json")["cases"] as? [[String: Any]])
        // A few representative strings (the Tokenizers tests cover all of them in-process).
        let picked = cases.filter { c in
            let t = c["text"] as? String ?? ""
            return t.contains("<|im_start|>") || t.contains("Hello") || t.unicodeScalars.contains { $0.value > 0x3000 }
        }.prefix(4)
        #expect(picked.count >= 2)
        for c in picked {
            let text = try #require(c["text"] as? String)
            for (flag, key) in [([String](), "ids"), (["--special"], "ids_parse_special")] {
                let out = try StudioProcess.run(["tokenize", "qwen2.5-coder:0.5b", text, "--json"] + flag)
                #expect(out.status == 0, "\(out.stderr)")
                let ids = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [Int]
                #expect(ids == c[key] as? [Int], "\(text.debugDescription) \(key)")
            }
        }
    }

    @Test func greedyRunMatchesTheReferenceUpToTheFirstNearTie() throws {
        _ = try StudioProcess.modelPath("smollm2-135m")
        let cases = try #require(try json("greedy.json")["cases"] as? [[String: Any]])
        let c = try #require(cases.first { $0["model"] as? String == "smollm2-135m" })
        let prompt = try #require(c["prompt"] as? String)
        let expected = try #require(c["completion_token_ids"] as? [Int])
        let top5 = try #require(c["top5_per_step"] as? [[[String: Any]]])
        let out = try StudioProcess.run(["run", "smollm2:135m", prompt, "--temperature", "0", "--max-tokens", "32", "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        #expect(result["prompt_token_ids"] as? [Int] == c["prompt_token_ids"] as? [Int])
        let ids = try #require(result["token_ids"] as? [Int])
        // Compare up to the first near-tie (the reference's top two within 0.1): from that step on
        // a correct engine may pick the other token.
        var compared = 0
        for (step, want) in expected.enumerated() {
            let lp = top5[step].compactMap { $0["logprob"] as? Double }
            if lp.count >= 2, lp[0] - lp[1] < 0.1 { break }
            #expect(step < ids.count && ids[step] == want, "step \(step)")
            compared += 1
        }
        #expect(compared > 0)
        #expect((result["tokens_per_second"] as? Double ?? 0) > 0)
        #expect(result["text"] as? String != nil)
    }

    @Test func runStreamsTextAndRefusesAbsurdInput() throws {
        _ = try StudioProcess.modelPath("smollm2-135m")
        let out = try StudioProcess.run(["run", "smollm2:135m", "The capital of France is", "--temperature", "0", "--max-tokens", "8"])
        #expect(out.status == 0)
        #expect(!out.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)

        let tooLong = try StudioProcess.run(["run", "smollm2:135m", String(repeating: "word ", count: 300), "--ctx", "64", "--max-tokens", "4"])
        #expect(tooLong.status != 0)
        #expect(tooLong.stderr.contains("error: "))
        #expect(!tooLong.stderr.contains("Fatal error"))

        let badTemperature = try StudioProcess.run(["run", "smollm2:135m", "hi", "--temperature", "-1"])
        #expect(badTemperature.status != 0)
        #expect(badTemperature.stderr.lowercased().contains("temperature"))

        let unknown = try StudioProcess.run(["run", "nonexistent:1b", "hi"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("Unknown model"))
    }

    @Test func sameSeedSameOutput() throws {
        _ = try StudioProcess.modelPath("smollm2-135m")
        let args = ["run", "smollm2:135m", "Once upon a time", "--temperature", "1.0", "--seed", "7", "--max-tokens", "16", "--json"]
        let a = try StudioProcess.run(args), b = try StudioProcess.run(args)
        #expect(a.status == 0 && b.status == 0)
        let ja = try JSONSerialization.jsonObject(with: Data(a.stdout.utf8)) as? [String: Any]
        let jb = try JSONSerialization.jsonObject(with: Data(b.stdout.utf8)) as? [String: Any]
        #expect(ja?["token_ids"] as? [Int] == jb?["token_ids"] as? [Int])
    }
}
