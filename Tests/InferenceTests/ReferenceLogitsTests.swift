import Foundation
import Inference
import Models
import Testing

/// Real models against llama.cpp's greedy completions and top-5 log-probabilities
/// (shared/reference/greedy.json), fed token ids directly (no tokenizer involved).
///
/// How close is close: llama.cpp rounds the activations to 8 bits before every quantized matmul,
/// and on models this small that rounding is chaotic. A float64 evaluation of the same
/// dequantized weights is off llama.cpp's top-5 log-probabilities by 0.095 (smollm2) and 0.116
/// (gemma3) on average, 60 % of entries by more than 0.05, and storing our KV cache in F32
/// instead of F16 moves them by 0.1-0.3. So no engine that is not bit-identical to llama.cpp
/// keeps every entry within 0.05; the bounds below sit just above that noise floor, where a
/// wrong kernel lands well outside (gemma3 with the attention scale of the 27B model: mean
/// 0.37, p99 1.8; with the global RoPE base on local layers: mean 0.68).
@Suite(.serialized) struct ReferenceLogitsTests {
    static let models = ["smollm2-135m", "qwen2.5-coder-0.5b", "gemma3-270m"]

    /// Teacher forcing (prompt + reference completion in one batched forward pass): our
    /// log-softmax of each of the reference's top-5 ids at every generated position is within
    /// the noise floor described above. Greedy decoding, one token at a time, reproduces the
    /// reference ids up to the first near-tie (a step whose top two are within 0.1).
    @Test(arguments: models) func matchesReference(model name: String) throws {
        let loaded = try ModelFixtures.load(name)
        let cases = try ModelFixtures.greedyCases().filter { $0.model == name }
        #expect(cases.count == 6, "greedy.json should have 6 prompts for \(name)")
        let vocab = loaded.config.vocabularySize
        let cache = try loaded.makeCache(capacity: 256)
        var logits: [Float] = []
        var errors: [Double] = []
        var topErrors: [Double] = []
        var matchedPrompts = 0
        var matchedSteps = 0

        for (index, c) in cases.enumerated() {
            // Teacher-forced, one batch: the logits of position promptLength - 1 + i give step i.
            cache.reset()
            let forced = c.promptTokenIDs + c.completionTokenIDs.dropLast()
            try loaded.model.forward(tokens: forced, cache: cache, logits: .all, into: &logits)
            for (step, top5) in c.top5PerStep.enumerated() {
                let row = c.promptTokenIDs.count - 1 + step
                logits.withUnsafeBufferPointer { all in
                    for (rank, entry) in top5.enumerated() {
                        let ours = Perplexity.logSoftmax(all.baseAddress! + row * vocab, count: vocab, at: entry.id)
                        errors.append(abs(ours - entry.logprob))
                        if rank == 0 { topErrors.append(abs(ours - entry.logprob)) }
                    }
                }
            }

            // Greedy, token by token (the decode path), up to the first near-tie. A divergence
            // where the reference ranks our pick within 0.25 of its own also ends the comparison:
            // with the noise above, such a step is a near-tie too (qwen2.5 prompt 0 step 14 has a
            // reference gap of 0.104 that float64 math puts at 0.086).
            cache.reset()
            try loaded.model.forward(tokens: c.promptTokenIDs, cache: cache, logits: .last, into: &logits)
            var matched = true
            for (step, expected) in c.completionTokenIDs.enumerated() {
                let top = c.top5PerStep[step]
                if top.count >= 2, top[0].logprob - top[1].logprob < 0.1 { break }
                let chosen = ModelFixtures.argmax(logits)
                if chosen != expected {
                    if let theirs = top.first(where: { $0.id == chosen }), top[0].logprob - theirs.logprob < 0.25 { break }
                    matched = false
                    Issue.record("\(name) prompt \(index) (\(c.prompt.debugDescription)): greedy step \(step) chose \(chosen), reference \(expected)")
                    break
                }
                matchedSteps += 1
                try loaded.model.forward(tokens: [chosen], cache: cache, logits: .last, into: &logits)
            }
            if matched { matchedPrompts += 1 }
        }

        let sorted = errors.sorted()
        let mean = errors.reduce(0, +) / Double(errors.count)
        let median = sorted[sorted.count / 2]
        let p99 = sorted[sorted.count * 99 / 100]
        let topMean = topErrors.reduce(0, +) / Double(topErrors.count)
        let within = Double(errors.filter { $0 <= 0.05 }.count) / Double(errors.count)
        print("\(name): greedy matches up to the first near-tie on \(matchedPrompts)/\(cases.count) prompts (\(matchedSteps) tokens); "
            + "top-5 logprob error mean \(f(mean)) median \(f(median)) p99 \(f(p99)) max \(f(sorted.last!)), "
            + "top-1 mean \(f(topMean)), \(Int(within * 100)) % within 0.05")
        #expect(errors.count == cases.count * 32 * 5)
        #expect(mean <= 0.18, "\(name): mean top-5 logprob error \(mean)")
        #expect(median <= 0.12, "\(name): median top-5 logprob error \(median)")
        #expect(p99 <= 1.0, "\(name): 99th percentile top-5 logprob error \(p99)")
        #expect(topMean <= 0.07, "\(name): mean top-1 logprob error \(topMean)")
    }

    private func f(_ x: Double) -> String { String(format: "%.3f", x) }
}

/// Locating real models and reference data for the Inference tests.
enum ModelFixtures {
    static let aliases = [
        "smollm2-135m": "smollm2:135m", "qwen2.5-coder-0.5b": "qwen2.5-coder:0.5b",
        "qwen2.5-coder-1.5b": "qwen2.5-coder:1.5b", "gemma3-270m": "gemma3:270m",
    ]

    struct MissingFixture: Error, CustomStringConvertible {
        let description: String
    }

    /// `$STUDIO_HOME/models/<name>.gguf` (STUDIO_HOME defaults to ~/.cache/studio).
    static func modelPath(_ name: String) throws -> String {
        let env = ProcessInfo.processInfo.environment
        let home = env["STUDIO_HOME"] ?? (NSHomeDirectory() + "/.cache/studio")
        let path = home + "/models/\(name).gguf"
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingFixture(description: "Model file \(path) is missing: run `studio pull \(aliases[name] ?? name)` first.")
        }
        return path
    }

    static func load(_ name: String) throws -> LoadedModel {
        try ModelLoader.load(path: modelPath(name))
    }

    /// shared/reference: `STUDIO_REFERENCE_DIR`, or `../../../shared/reference` from this file.
    static func referenceDirectory(filePath: String = #filePath) throws -> URL {
        if let dir = ProcessInfo.processInfo.environment["STUDIO_REFERENCE_DIR"] { return URL(fileURLWithPath: dir) }
        let url = URL(fileURLWithPath: filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../shared/reference").standardized
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw MissingFixture(description: "Reference data not found at \(url.path); set STUDIO_REFERENCE_DIR.")
        }
        return url
    }

    struct GreedyFile: Decodable {
        let cases: [GreedyCase]
    }

    struct GreedyCase: Decodable {
        struct Entry: Decodable {
            let id: Int
            let logprob: Double
        }
        let model: String
        let prompt: String
        let promptTokenIDs: [Int]
        let completionTokenIDs: [Int]
        let top5PerStep: [[Entry]]

        enum CodingKeys: String, CodingKey {
            case model, prompt
            case promptTokenIDs = "prompt_token_ids"
            case completionTokenIDs = "completion_token_ids"
            case top5PerStep = "top5_per_step"
        }
    }

    static func greedyCases() throws -> [GreedyCase] {
        let data = try Data(contentsOf: referenceDirectory().appendingPathComponent("greedy.json"))
        return try JSONDecoder().decode(GreedyFile.self, from: data).cases
    }

    static func argmax(_ x: [Float]) -> Int {
        var best = 0
        for i in x.indices where x[i] > x[best] { best = i }
        return best
    }
}
