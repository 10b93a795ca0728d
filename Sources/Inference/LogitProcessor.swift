// Logit processors change the full logits vector (index = token id) before any sampler runs:
// logit bias first, then the repetition / presence / frequency penalties, as llama.cpp's
// common sampler chain does. Unlike samplers they may keep state across steps (the penalties
// remember recent tokens).

/// Rewrites next-token logits in place, and learns from each token that enters the context.
public protocol LogitProcessor: Sendable {
    /// Called once with the prompt, before the first step.
    mutating func prompt(_ tokens: [Int])
    /// Changes `logits` (one entry per vocabulary id) in place.
    func process(_ logits: UnsafeMutableBufferPointer<Float>)
    /// Called with each token that was chosen.
    mutating func didSample(_ token: Int)
}

extension LogitProcessor {
    public mutating func prompt(_ tokens: [Int]) {}
    public mutating func didSample(_ token: Int) {}
}

/// Adds a fixed bias to chosen token ids; -infinity bans a token. Ids outside the
/// vocabulary are ignored here (`GenerateParameters.validate` rejects them up front).
public struct LogitBiasProcessor: LogitProcessor {
    public let bias: [(token: Int, bias: Float)]

    public init(_ bias: [Int: Float]) {
        self.bias = bias.sorted { $0.key < $1.key }.map { (token: $0.key, bias: $0.value) }
    }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>) {
        for (token, b) in bias where token >= 0 && token < logits.count {
            logits[token] += b
        }
    }
}

/// Penalises tokens among the last `window` tokens of the context (prompt included), as
/// llama.cpp does: a seen token's logit is divided by `repetition` when positive and
/// multiplied by it when not, then `frequency × count + presence` is subtracted.
public struct PenaltyProcessor: LogitProcessor {
    public let window: Int
    public let repetition: Float
    public let presence: Float
    public let frequency: Float
    /// The last `window` tokens, oldest first once full (a ring buffer).
    private var recent: [Int] = []
    private var next = 0
    /// How often each token occurs in `recent`.
    public private(set) var counts: [Int: Int] = [:]

    public init(window: Int, repetition: Float = 1, presence: Float = 0, frequency: Float = 0) {
        self.window = max(0, window)
        self.repetition = repetition
        self.presence = presence
        self.frequency = frequency
        recent.reserveCapacity(self.window)
    }

    /// Whether the processor changes anything at all.
    public var isActive: Bool {
        window > 0 && (repetition != 1 || presence != 0 || frequency != 0)
    }

    public mutating func prompt(_ tokens: [Int]) {
        for token in tokens.suffix(window) { remember(token) }
    }

    public mutating func didSample(_ token: Int) {
        remember(token)
    }

    private mutating func remember(_ token: Int) {
        guard window > 0 else { return }
        if recent.count < window {
            recent.append(token)
        } else {
            let old = recent[next]
            if let c = counts[old], c > 1 { counts[old] = c - 1 } else { counts[old] = nil }
            recent[next] = token
            next = (next + 1) % window
        }
        counts[token, default: 0] += 1
    }

    public func process(_ logits: UnsafeMutableBufferPointer<Float>) {
        guard isActive else { return }
        for (token, count) in counts where token >= 0 && token < logits.count {
            var x = logits[token]
            if x <= 0 { x *= repetition } else { x /= repetition }
            x -= Float(count) * frequency + presence
            logits[token] = x
        }
    }
}
