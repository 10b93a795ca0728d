import Foundation
import Inference
import Models
import Testing

/// Real models against llama.cpp's greedy completions and top-5 log-probabilities
/// (shared/reference/greedy.json), fed token ids directly (no tokenizer involved).
///
/// The issue's criteria, checked as stated: every top-5 log-probability within 0.05 of the
/// reference at every generated position (teacher forced), and greedy ids equal up to the first
/// near-tie (reference top two within 0.1).
///
/// Why the bound can hold at all: these models turn last-bit differences into ~0.1 of
/// log-probability (activations are rounded to 8 bits before every quantized matmul); the same
/// llama.cpp built for AVX-512, whose kernels differ mostly in the order they add floats, is off
/// by a mean of 0.09 / 0.05 / 0.10 (gemma3: max 8.1, 462 of 960 entries beyond 0.05). The
/// reference is llama.cpp built for AVX2, so the bound holds only where every kernel rounds as
/// that build does: attention (F16 query, online softmax, F16 value sums), RMSNorm, RoPE, SiLU,
/// GELU, and the quantized dot products in ggml's order; and only when each step is fed in the
/// batch shape llama-server used, because llama.cpp's own bits depend on it (repacked Q4_K uses
/// another kernel for groups of 4 rows, K-quants a tiled one from 8 rows, Q5_0/Q8_0 llamafile's
/// from 2 rows). So the steps run as llama-server ran them: the prompt, then one token at a
/// time; for a model with sliding-window layers (gemma3) the prompt goes in two batches, all
/// but its last 4 tokens and then those 4, because llama-server stops a prompt batch 4 tokens
/// before the end to save a context checkpoint of the sliding-window cache (tools/server at the
/// reference's commit). Measured: that llama-server, AVX2 build, reproduces gemma3's reference
/// to the printed digit; a plain llama.cpp program fed the prompt in one batch misses it on
/// 258 of 960 entries and with the 4-token split comes within 0.0006; so did this engine
/// (278 misses with one batch, max 0.0006 with the split).
@Suite(.serialized) struct ReferenceLogitsTests {
    static let models = ["smollm2-135m", "qwen2.5-coder-0.5b", "gemma3-270m"]
    /// The issue's bound on each top-5 log-probability.
    static let tolerance = 0.05
    /// The issue's near-tie: the reference's top two within this of each other.
    static let nearTie = 0.1
    /// llama-server ends a prompt batch this many tokens before the prompt's end when the model
    /// has sliding-window layers, to checkpoint the window's cache there.
    static let checkpointTail = 4

    /// The prompt's batches as llama-server evaluated them.
    static func promptBatches(_ prompt: [Int], slidingWindow: Bool) -> [ArraySlice<Int>] {
        guard slidingWindow, prompt.count > checkpointTail else { return [prompt[...]] }
        let split = prompt.count - checkpointTail
        return [prompt[..<split], prompt[split...]]
    }

    struct Miss {
        let prompt: Int, step: Int, rank: Int, id: Int
        let ours: Double, reference: Double
        var error: Double { abs(ours - reference) }
    }

    /// Teacher forcing: our log-softmax of each of the reference's top-5 ids at every generated
    /// position. Greedy decoding reproduces the reference ids up to the first near-tie.
    @Test(arguments: models) func matchesReference(model name: String) throws {
        let loaded = try ModelFixtures.load(name)
        let cases = try ModelFixtures.greedyCases().filter { $0.model == name }
        #expect(cases.count == 6, "greedy.json should have 6 prompts for \(name)")
        let vocab = loaded.config.vocabularySize
        let cache = try loaded.makeCache(capacity: 256)
        var logits: [Float] = []
        var errors: [Double] = []
        var topErrors: [Double] = []
        var misses: [Miss] = []
        var greedyMisses: [String] = []
        var matchedPrompts = 0
        var matchedSteps = 0

        for (index, c) in cases.enumerated() {
            // As llama-server made the reference: the prompt in one batch, then one token per step.
            // Teacher forced: each step is fed the reference token, so every position is scored.
            // Greedy: while no near-tie has been passed, our argmax must be the reference token
            // (so feeding it equals feeding our own pick).
            cache.reset()
            for batch in Self.promptBatches(c.promptTokenIDs, slidingWindow: loaded.config.slidingWindow != nil) {
                try loaded.model.forward(tokens: Array(batch), cache: cache, logits: .last, into: &logits)
            }
            var comparingGreedy = true
            var matched = true
            for (step, top5) in c.top5PerStep.enumerated() {
                logits.withUnsafeBufferPointer { row in
                    for (rank, entry) in top5.enumerated() {
                        let ours = Perplexity.logSoftmax(row.baseAddress!, count: vocab, at: entry.id)
                        let error = abs(ours - entry.logprob)
                        errors.append(error)
                        if rank == 0 { topErrors.append(error) }
                        if error > Self.tolerance {
                            misses.append(Miss(prompt: index, step: step, rank: rank, id: entry.id, ours: ours, reference: entry.logprob))
                        }
                    }
                }
                let expected = c.completionTokenIDs[step]
                if comparingGreedy {
                    if top5.count >= 2, top5[0].logprob - top5[1].logprob < Self.nearTie {
                        comparingGreedy = false
                    } else {
                        let chosen = ModelFixtures.argmax(logits)
                        if chosen == expected {
                            matchedSteps += 1
                        } else {
                            matched = false
                            comparingGreedy = false
                            let gap = top5.first(where: { $0.id == chosen }).map { String(format: "%.3f", top5[0].logprob - $0.logprob) } ?? "beyond the top 5"
                            greedyMisses.append("\(name) prompt \(index) (\(c.prompt.debugDescription)): greedy step \(step) chose \(chosen), "
                                + "reference \(expected) (reference gap to our pick: \(gap))")
                        }
                    }
                }
                if step + 1 < c.completionTokenIDs.count {
                    try loaded.model.forward(tokens: [expected], cache: cache, logits: .last, into: &logits)
                }
            }
            if matched { matchedPrompts += 1 }
        }

        let sorted = errors.sorted()
        let mean = errors.reduce(0, +) / Double(errors.count)
        let median = sorted[sorted.count / 2]
        let p99 = sorted[sorted.count * 99 / 100]
        let topMean = topErrors.reduce(0, +) / Double(topErrors.count)
        print("\(name): greedy matches up to the first near-tie on \(matchedPrompts)/\(cases.count) prompts (\(matchedSteps) tokens); "
            + "top-5 logprob error mean \(f(mean)) median \(f(median)) p99 \(f(p99)) max \(f(sorted.last!)), "
            + "top-1 mean \(f(topMean)); \(misses.count) of \(errors.count) entries beyond \(Self.tolerance)")
        for m in misses.sorted(by: { $0.error > $1.error }).prefix(10) {
            print("  \(name) prompt \(m.prompt) step \(m.step) rank \(m.rank) (id \(m.id)): ours \(f(m.ours)) reference \(f(m.reference)), off by \(f(m.error))")
        }
        #expect(errors.count == cases.count * 32 * 5)

        // The issue's criteria as stated.
        if !misses.isEmpty {
            let worst = misses.max { $0.error < $1.error }!
            Issue.record(Comment(rawValue: "\(name): \(misses.count) of \(errors.count) top-5 log-probabilities are more than \(Self.tolerance) off the reference "
                + "(worst: prompt \(worst.prompt) step \(worst.step) rank \(worst.rank), off by \(f(worst.error)))"))
        }
        for miss in greedyMisses { Issue.record(Comment(rawValue: miss)) }
    }

    @Test func promptBatchesFollowLlamaServer() {
        let prompt = Array(0..<11)
        #expect(Self.promptBatches(prompt, slidingWindow: false).map(Array.init) == [prompt])
        #expect(Self.promptBatches(prompt, slidingWindow: true).map(Array.init) == [Array(0..<7), Array(7..<11)])
        #expect(Self.promptBatches([5, 6, 7, 8], slidingWindow: true).map(Array.init) == [[5, 6, 7, 8]])
    }

    private func f(_ x: Double) -> String { String(format: "%.4f", x) }
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
