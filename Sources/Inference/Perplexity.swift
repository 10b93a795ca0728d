import Foundation
import Models

/// Perplexity of a model over a token sequence, computed as llama.cpp's `llama-perplexity` does.
///
/// The tokens (the whole text, tokenized once) are cut into non-overlapping chunks of `context`
/// tokens; a last partial chunk is dropped. When the model adds a BOS token, the first token of
/// every chunk is replaced by it. Each chunk runs from an empty cache, and only its second half
/// is scored: the logits at positions `context/2 ..< context - 1` predict the tokens after them.
/// PPL = exp(mean negative log-likelihood); `plusMinus` is llama.cpp's standard error,
/// PPL × sqrt((mean(nll²) − mean(nll)²) / (n − 1)).
public enum Perplexity {
    public struct Result: Sendable, Equatable {
        public var ppl: Double
        public var plusMinus: Double
        public var chunks: Int
        /// Tokens scored: `chunks * (context - 1 - context / 2)`.
        public var scoredTokens: Int
    }

    public struct Progress: Sendable {
        /// Chunks done so far (1-based after the first chunk).
        public var chunk: Int
        public var chunks: Int
        /// PPL over the chunks done so far (what llama.cpp prints as `[i]ppl,`).
        public var ppl: Double
    }

    /// - Parameters:
    ///   - tokens: the text's token ids, tokenized once (with or without a leading BOS: the first
    ///     token of each chunk is overwritten by `bos` when one is given).
    ///   - bos: the BOS id when the model adds one (`tokenizer.ggml.add_bos_token`), else nil.
    ///
    /// Each chunk runs as llama.cpp evaluates it, in its steps (`llamaCppStepTokens` per forward
    /// call): the model's results for a token depend on how many tokens are evaluated with it
    /// (llama.cpp switches attention and matmul kernels with the step's size), so another split
    /// would change the bits. Logits are kept for one step at a time: at most 512 rows.
    public static func evaluate(
        model: any LanguageModel, tokens: [Int], context: Int, bos: Int?,
        cacheElement: KVCacheElement = .f16, progress: ((Progress) -> Void)? = nil
    ) throws -> Result {
        guard context >= 4 else { throw PerplexityError.contextTooSmall(context) }
        guard tokens.count >= 2 * context else { throw PerplexityError.tooFewTokens(have: tokens.count, need: 2 * context) }
        let chunks = tokens.count / context
        let first = context / 2
        let vocab = model.config.vocabularySize
        let cache = try KVCache(config: model.config, capacity: context, element: cacheElement)
        var logits: [Float] = []
        var nll = 0.0, nll2 = 0.0
        var count = 0

        for chunk in 0..<chunks {
            var ids = Array(tokens[(chunk * context)..<((chunk + 1) * context)])
            if let bos { ids[0] = bos }
            cache.reset()
            // Position j's logits predict ids[j + 1], for j in first ..< context - 1.
            var start = 0
            while start < context {
                let end = min(context, start + llamaCppStepTokens)
                defer { start = end }
                let scoredFrom = max(first, start)
                guard scoredFrom < end else {
                    try model.forward(tokens: Array(ids[start..<end]), cache: cache, logits: .none, into: &logits)
                    continue
                }
                try model.forward(tokens: Array(ids[start..<end]), cache: cache, logits: .lastRows(end - scoredFrom), into: &logits)
                logits.withUnsafeBufferPointer { rows in
                    for j in scoredFrom..<min(end, context - 1) {
                        let v = -logSoftmax(rows.baseAddress! + (j - scoredFrom) * vocab, count: vocab, at: ids[j + 1])
                        nll += v
                        nll2 += v * v
                    }
                }
            }
            count += context - 1 - first
            progress?(Progress(chunk: chunk + 1, chunks: chunks, ppl: exp(nll / Double(count))))
        }

        let mean = nll / Double(count)
        let ppl = exp(mean)
        let variance = nll2 / Double(count) - mean * mean
        let plusMinus = variance > 0 && count > 1 ? (variance / Double(count - 1)).squareRoot() * ppl : 0
        return Result(ppl: ppl, plusMinus: plusMinus, chunks: chunks, scoredTokens: count)
    }

    /// log softmax(logits)[token], with the sum of exponentials accumulated in Double.
    public static func logSoftmax(_ logits: UnsafePointer<Float>, count: Int, at token: Int) -> Double {
        var maxLogit = -Float.infinity
        for i in 0..<count where logits[i] > maxLogit { maxLogit = logits[i] }
        var sum = 0.0
        for i in 0..<count { sum += Double(expf(logits[i] - maxLogit)) }
        return Double(logits[token] - maxLogit) - log(sum)
    }
}

public enum PerplexityError: Error, Equatable, CustomStringConvertible, Sendable {
    case tooFewTokens(have: Int, need: Int)
    case contextTooSmall(Int)

    public var description: String {
        switch self {
        case let .tooFewTokens(have, need):
            "Perplexity needs at least \(need) tokens (two chunks of the context), but the text has \(have)."
        case let .contextTooSmall(n): "A perplexity context of \(n) tokens is too small; use at least 4."
        }
    }
}
