import Foundation
import Testing

@testable import Inference

/// Logits that always favour the same token, far above the rest.
private struct FixedFavouriteSource: LogitsSource {
    var contextLength = 512
    var vocabularySize: Int
    var count = 0
    var favourite: Int

    mutating func prefill(_ tokens: [Int]) throws -> [Float] {
        count += tokens.count
        return logits()
    }

    mutating func step(_ token: Int) throws -> [Float] {
        count += 1
        return logits()
    }

    func logits() -> [Float] {
        (0..<vocabularySize).map { $0 == favourite ? 10 : Float($0 % 7) * 0.1 }
    }
}

@Suite("Grammar in sampling and generation")
struct GrammarSamplingTests {
    static let pieces: [[UInt8]] = ["a", "b", "{", "}", "\"", "x", " ", "ab"].map { Array($0.utf8) } + [[]]
    static let eos = 8
    static let vocabulary = GrammarVocabulary(tokenBytes: pieces, endOfGeneration: [eos])

    @Test func greedyPicksTheBestAllowedToken() throws {
        var p = GenerateParameters.greedy
        p.grammar = .gbnf("root ::= \"b\"+")
        var sampler = try SamplerPipeline(parameters: p, vocabularySize: 9, grammarVocabulary: Self.vocabulary)
        // "a" and end-of-generation are the favourites, but only "b" fits.
        let logits: [Float] = [5, 1, 0, 0, 0, 0, 0, 0, 9]
        #expect(sampler.sample(logits) == 1)
        sampler.accept(1)
        // Now the grammar may end: end-of-generation is allowed again.
        #expect(sampler.sample(logits) == Self.eos)
    }

    @Test func maskedDrawsFollowTheMaskedDistribution() throws {
        var p = GenerateParameters(temperature: 1, topK: 0, topP: 1, minP: 0, seed: 11)
        p.grammar = .gbnf("root ::= \"a\" | \"b\" | \"x\"")
        var sampler = try SamplerPipeline(parameters: p, vocabularySize: 9, grammarVocabulary: Self.vocabulary)
        // Allowed: a (logit 0), b (logit ln 2), x (logit ln 3) → 1/6, 2/6, 3/6 after masking.
        let logits: [Float] = [0, log(2), 3, 3, 3, log(3), 3, 3, 3]
        var counts = [Int: Int]()
        let n = 6000
        for _ in 0..<n { counts[sampler.sample(logits), default: 0] += 1 }
        #expect(Set(counts.keys).isSubset(of: [0, 1, 5]))
        #expect(abs(Double(counts[0] ?? 0) / Double(n) - 1.0 / 6) < 0.03)
        #expect(abs(Double(counts[1] ?? 0) / Double(n) - 2.0 / 6) < 0.03)
        #expect(abs(Double(counts[5] ?? 0) / Double(n) - 3.0 / 6) < 0.03)
    }

    @Test func generatorFollowsTheGrammarAndStopsWhenComplete() throws {
        var p = GenerateParameters.greedy
        p.grammar = .gbnf("root ::= \"{\" \"ab\"{2} \"}\"")
        p.maxTokens = 50
        let pieces = Self.pieces
        var generator = try Generator(
            source: FixedFavouriteSource(vocabularySize: 9, favourite: 5), parameters: p, endOfGeneration: [Self.eos],
            detokenize: { pieces[$0] })
        let result = try generator.generate(prompt: [0])
        #expect(result.text == "{abab}")
        #expect(result.finishReason == .stop)
    }

    /// A grammar that needs a character no token has ("q") stops the output where it is stuck,
    /// with its own finish reason, not `stop`: "a" fits, then nothing does.
    @Test func aGrammarDeadEndIsItsOwnFinishReason() throws {
        var p = GenerateParameters.greedy
        p.grammar = .gbnf("root ::= \"a\" \"q\"")
        p.maxTokens = 50
        let pieces = Self.pieces
        var generator = try Generator(
            source: FixedFavouriteSource(vocabularySize: 9, favourite: 5), parameters: p, endOfGeneration: [Self.eos],
            detokenize: { pieces[$0] })
        let result = try generator.generate(prompt: [0])
        #expect(result.text == "a")
        #expect(result.finishReason == .grammarDeadEnd)
        // Where the grammar may end, no token fitting is the end, not a dead end.
        p.grammar = .gbnf("root ::= \"a\"")
        var sampler = try SamplerPipeline(parameters: p, vocabularySize: 9, grammarVocabulary: Self.vocabulary)
        sampler.accept(0)
        #expect(sampler.sample([Float](repeating: 0, count: 9)) == Self.eos)
        #expect(!sampler.grammarDeadEnd)
    }

    @Test func badGrammarsAreInvalidParameters() throws {
        var p = GenerateParameters.greedy
        p.grammar = .jsonSchema(#"{"type":"string","not":{}}"#)
        #expect(throws: GenerateParametersError.invalidGrammar(GrammarError(.unsupportedKeyword(keyword: "not", path: "#")))) {
            try p.validate()
        }
        p.grammar = .gbnf("root ::= [a-")
        #expect(throws: GenerationError.self) {
            _ = try Generator(
                source: FixedFavouriteSource(vocabularySize: 9, favourite: 5), parameters: p, endOfGeneration: [],
                detokenize: { _ in [] })
        }
    }
}

@Suite("Grammar with a real model", .serialized)
struct GrammarModelTests {
    static let schema = #"""
        {"type":"object","properties":{
          "name":{"type":"string","maxLength":24},
          "age":{"type":"integer","minimum":0,"maximum":120},
          "email":{"type":"string","format":"email"},
          "born":{"type":"string","format":"date"},
          "tags":{"type":"array","items":{"type":"string","maxLength":12},"maxItems":3},
          "role":{"enum":["admin","user","guest"]}},
         "required":["name","age","email","born","tags","role"]}
        """#

    static func load() throws -> TextModel {
        try TextModel.load(path: ModelFixtures.modelPath("qwen2.5-coder-0.5b"))
    }

    /// Qwen2.5's chat layout for one user message.
    static func prompt(_ model: TextModel, _ text: String) throws -> [Int] {
        model.tokenize(
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n\(text)<|im_end|>\n<|im_start|>assistant\n",
            parseSpecial: true)
    }

    @Test func schemaOutputAtTemperatureOneParsesAndValidates() throws {
        let model = try Self.load()
        let validator = try GrammarSchemaValidator(schemaJSON: Self.schema)
        let ids = try Self.prompt(model, "Invent a person and describe them as JSON.")
        for seed in [1, 2, 3] as [UInt64] {
            var p = GenerateParameters(temperature: 1.0, seed: seed, maxTokens: 300)
            p.grammar = .jsonSchema(Self.schema)
            let result = try model.complete(tokens: ids, parameters: p, contextLength: 1024)
            #expect(result.finishReason == .stop, "seed \(seed): \(result.text)")
            let value = try JSONSerialization.jsonObject(with: Data(result.text.utf8))
            #expect(validator.violation(value) == nil, "seed \(seed): \(result.text)")
        }
    }

    @Test func schedulerRunsTwoSequencesWithDifferentGrammars() async throws {
        let model = try Self.load()
        let scheduler = try Scheduler(model: model, configuration: .init(slots: 2, contextLength: 512))
        defer { scheduler.shutdown() }
        var a = GenerateParameters(temperature: 1.0, seed: 5, maxTokens: 300)
        a.grammar = .jsonSchema(Self.schema)
        var b = GenerateParameters(temperature: 1.0, seed: 6, maxTokens: 40)
        b.grammar = .gbnf("root ::= (\"yes\" | \"no\") \", because \" [a-z ]{1,30} \".\"")
        let first = try scheduler.submit(SchedulerRequest(prompt: try Self.prompt(model, "Describe a person as JSON."), parameters: a))
        let second = try scheduler.submit(SchedulerRequest(prompt: try Self.prompt(model, "Is the sky blue?"), parameters: b))
        async let textA = Self.collect(first)
        async let textB = Self.collect(second)
        let (ra, rb) = try await (textA, textB)
        #expect(ra.1 == .stop && rb.1 == .stop)
        let value = try JSONSerialization.jsonObject(with: Data(ra.0.utf8))
        #expect(try GrammarSchemaValidator(schemaJSON: Self.schema).violation(value) == nil, "\(ra.0)")
        var m = GrammarMatcher(grammar: try Grammar.parse("root ::= (\"yes\" | \"no\") \", because \" [a-z ]{1,30} \".\""))
        let ok = m.accept(rb.0)
        #expect(ok && m.isComplete, "\(rb.0)")
        // A bad grammar is refused at submission.
        var bad = GenerateParameters.greedy
        bad.grammar = .gbnf("root ::= missing")
        #expect(throws: SchedulerError.invalidParameters(.invalidGrammar(GrammarError(.undefinedRule("missing"))))) {
            try scheduler.submit(SchedulerRequest(prompt: [1, 2], parameters: bad))
        }
    }

    static func collect(_ task: SchedulerTask) async throws -> (String, FinishReason?) {
        var text = ""
        var finish: FinishReason?
        for try await event in task.events {
            switch event {
            case .token(let t): text += t.text
            case .text(let s): text += s
            case .finished(let r): finish = r.finishReason
            }
        }
        return (text, finish)
    }
}
