import Foundation
import Models

/// Measures prompt processing (pp) and token generation (tg) speed the way llama-bench does:
/// pp runs `promptTokens` random tokens through one batched forward from an empty cache; tg
/// generates `generatedTokens` tokens one decode step at a time from an empty cache. Each test
/// runs once to warm up, then `repetitions` times; speeds are tokens per second.
public enum Bench {
    public struct Result: Sendable, Codable, Equatable {
        public let test: String
        public let threads: Int
        public let samples: [Double]
        public var mean: Double { samples.reduce(0, +) / Double(max(samples.count, 1)) }
        public var standardDeviation: Double {
            guard samples.count > 1 else { return 0 }
            let m = mean
            return (samples.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(samples.count - 1)).squareRoot()
        }
    }

    public static func run(
        path: String, promptTokens: Int, generatedTokens: Int, threads: [Int], repetitions: Int,
        onResult: (Result) -> Void = { _ in }
    ) throws -> [Result] {
        var results: [Result] = []
        for t in threads {
            let loaded = try ModelLoader.load(path: path, threads: t, maxBatch: max(promptTokens, 1))
            let vocabulary = loaded.config.vocabularySize
            let cache = try loaded.makeCache(capacity: max(promptTokens, generatedTokens) + 1)
            var rng = SeededRandom(seed: 1234)
            var logits: [Float] = []
            let clock = ContinuousClock()

            func measurePrompt() throws -> Double {
                let tokens = (0..<promptTokens).map { _ in Int(rng.next() % UInt64(vocabulary)) }
                cache.reset()
                let elapsed = try clock.measure { try loaded.model.forward(tokens: tokens, cache: cache, logits: .last, into: &logits) }
                return Double(promptTokens) / elapsed.seconds
            }

            func measureGeneration() throws -> Double {
                var token = Int(rng.next() % UInt64(vocabulary))
                cache.reset()
                let elapsed = try clock.measure {
                    for _ in 0..<generatedTokens {
                        try loaded.model.forward(tokens: [token], cache: cache, logits: .last, into: &logits)
                        token = Int(rng.next() % UInt64(vocabulary))
                    }
                }
                return Double(generatedTokens) / elapsed.seconds
            }

            if promptTokens > 0 {
                _ = try measurePrompt()
                let samples = try (0..<repetitions).map { _ in try measurePrompt() }
                let r = Result(test: "pp\(promptTokens)", threads: t, samples: samples)
                onResult(r)
                results.append(r)
            }
            if generatedTokens > 0 {
                _ = try measureGeneration()
                let samples = try (0..<repetitions).map { _ in try measureGeneration() }
                let r = Result(test: "tg\(generatedTokens)", threads: t, samples: samples)
                onResult(r)
                results.append(r)
            }
        }
        return results
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }
}
