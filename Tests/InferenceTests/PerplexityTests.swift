import Foundation
import Inference
import Models
import Testing
import Tokenizers

/// Perplexity on shared/reference/texts/MPL-2.0.txt at context 512, against llama.cpp's
/// `llama-perplexity` (shared/reference/perplexity.json), tokenized with our own tokenizer.
@Suite(.serialized) struct PerplexityTests {
    struct ReferenceFile: Decodable {
        struct Entry: Decodable {
            let model: String
            let chunks: Int
            let ppl: Double
            let plusMinus: Double

            enum CodingKeys: String, CodingKey {
                case model, chunks, ppl
                case plusMinus = "plus_minus"
            }
        }
        let textFile: String
        let ctx: Int
        let results: [Entry]

        enum CodingKeys: String, CodingKey {
            case ctx, results
            case textFile = "text_file"
        }
    }

    static let models = ["smollm2-135m", "qwen2.5-coder-0.5b", "gemma3-270m"]

    @Test(arguments: models) func matchesLlamaCpp(model name: String) throws {
        let dir = try ModelFixtures.referenceDirectory()
        let reference = try JSONDecoder().decode(ReferenceFile.self, from: Data(contentsOf: dir.appendingPathComponent("perplexity.json")))
        let expected = try #require(reference.results.first { $0.model == name }, "perplexity.json has no entry for \(name)")
        let text = try String(contentsOf: dir.appendingPathComponent(reference.textFile), encoding: .utf8)

        let loaded = try ModelFixtures.load(name)
        let tokenizer = try Tokenizer.load(from: loaded.file)
        let tokens = tokenizer.encode(text).map(Int.init)
        let bos = tokenizer.addBOS ? tokenizer.bosTokenID.map(Int.init) : nil
        var reported: [Int] = []
        let result = try Perplexity.evaluate(model: loaded.model, tokens: tokens, context: reference.ctx, bos: bos) { p in
            reported.append(p.chunk)
        }

        print("\(name): PPL \(String(format: "%.4f", result.ppl)) ± \(String(format: "%.5f", result.plusMinus)) over \(result.chunks) chunks; llama.cpp \(expected.ppl) ± \(expected.plusMinus)")
        #expect(result.chunks == expected.chunks)
        #expect(reported == Array(1...result.chunks), "progress is reported once per chunk")
        #expect(abs(result.ppl - expected.ppl) / expected.ppl <= 0.01, "PPL \(result.ppl) is not within 1 % of llama.cpp's \(expected.ppl)")
        #expect(abs(result.plusMinus - expected.plusMinus) / expected.plusMinus <= 0.05, "± \(result.plusMinus) vs llama.cpp's \(expected.plusMinus)")
    }

    /// The chunking rules on a model-free path: too little text is an error naming the need.
    @Test func tooFewTokensIsAnError() throws {
        let loaded = try ModelFixtures.load("smollm2-135m")
        #expect(throws: PerplexityError.tooFewTokens(have: 100, need: 128)) {
            try Perplexity.evaluate(model: loaded.model, tokens: Array(repeating: 1, count: 100), context: 64, bos: nil)
        }
    }
}
