import ModelFormats

/// Which positions of a forward call produce logits.
public enum LogitsSelection: Sendable, Equatable {
    /// None: only fill the KV cache (e.g. the unscored first half of a perplexity chunk).
    case none
    /// The last token's logits (`vocabularySize` floats): generation.
    case last
    /// Every token's logits, row after row (`tokens.count * vocabularySize` floats): teacher
    /// forcing.
    case all
    /// The last `n` tokens' logits, row after row: the scored half of a perplexity chunk,
    /// evaluated together with the rest of the chunk.
    case lastRows(Int)

    /// Which of a call's `count` tokens produce logits.
    public func rows(count: Int) -> Range<Int> {
        switch self {
        case .none: count..<count
        case .last: max(0, count - 1)..<count
        case .all: 0..<count
        case .lastRows(let n): max(0, count - max(0, n))..<count
        }
    }
}

/// A decoder-only language model: token ids in, logits out. It never samples, schedules or does
/// I/O; the KV cache is handed in by the caller (Inference owns it).
public protocol LanguageModel: AnyObject, Sendable {
    var config: ModelConfig { get }

    /// Runs `tokens` at positions `cache.count ..< cache.count + tokens.count`, appends their
    /// keys and values to `cache` (advancing `cache.count`), and writes the selected logits to
    /// `output` (resized to fit; its storage is reused across calls, so a decode loop that
    /// passes the same array allocates nothing).
    ///
    /// Long inputs are processed in micro-batches; each goes through the weight matrices once
    /// (batched matmul). Calls on one model are serialized.
    func forward(tokens: [Int], cache: any KVCacheStorage, logits: LogitsSelection, into output: inout [Float]) throws

    /// Several sequences in one pass: their tokens are packed into shared micro-batches, so
    /// each weight matrix is read once for all of them (what makes concurrent decoding cheap),
    /// while RoPE, the cache and attention stay per sequence. Every sequence's selected logits
    /// land in `output`, one after another; the result gives each sequence's range of it.
    /// Each sequence needs its own cache. `ranges` is replaced with each sequence's range of
    /// `output`; both arrays keep their storage, so a serving loop that passes the same ones
    /// allocates nothing per step.
    func forward(sequences: [SequenceInput], into output: inout [Float], ranges: inout [Range<Int>]) throws
}

extension LanguageModel {
    /// One sequence after another (for models without a batched path): same results, no
    /// sharing of weight reads.
    public func forward(sequences: [SequenceInput], into output: inout [Float], ranges: inout [Range<Int>]) throws {
        var all: [Float] = []
        var rows: [Float] = []
        ranges.removeAll(keepingCapacity: true)
        for s in sequences {
            try forward(tokens: s.tokens, cache: s.cache, logits: s.logits, into: &rows)
            ranges.append(all.count..<(all.count + rows.count))
            all += rows
        }
        output = all
    }

    /// As `forward(sequences:into:ranges:)`, returning the ranges in a new array.
    public func forward(sequences: [SequenceInput], into output: inout [Float]) throws -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        try forward(sequences: sequences, into: &output, ranges: &ranges)
        return ranges
    }

    /// As `forward(tokens:cache:logits:into:)`, returning a new array.
    public func forward(tokens: [Int], cache: any KVCacheStorage, logits: LogitsSelection = .last) throws -> [Float] {
        var output: [Float] = []
        try forward(tokens: tokens, cache: cache, logits: logits, into: &output)
        return output
    }
}

/// One sequence's share of a batched forward call: its new tokens, its cache, and which of
/// its logits are wanted.
public struct SequenceInput {
    public var tokens: [Int]
    public var cache: any KVCacheStorage
    public var logits: LogitsSelection

    public init(tokens: [Int], cache: any KVCacheStorage, logits: LogitsSelection) {
        self.tokens = tokens
        self.cache = cache
        self.logits = logits
    }
}

/// Element type of a KV cache.
public enum KVCacheElement: Sendable, Equatable {
    /// IEEE half precision, as llama.cpp's default cache.
    case f16
    case f32

    public var byteCount: Int { self == .f16 ? 2 : 4 }
}

/// The geometry a KV cache must have for a model: `layers` layers, each holding `capacity`
/// key rows of `keyWidth` elements and `capacity` value rows of `valueWidth` elements.
public struct KVCacheLayout: Sendable, Equatable {
    public var layers: Int
    public var capacity: Int
    public var keyWidth: Int
    public var valueWidth: Int
    public var element: KVCacheElement

    public init(layers: Int, capacity: Int, keyWidth: Int, valueWidth: Int, element: KVCacheElement) {
        self.layers = layers
        self.capacity = capacity
        self.keyWidth = keyWidth
        self.valueWidth = valueWidth
        self.element = element
    }
}

extension ModelConfig {
    /// The layout of a KV cache holding `capacity` positions for this model.
    public func cacheLayout(capacity: Int, element: KVCacheElement = .f16) -> KVCacheLayout {
        KVCacheLayout(layers: blockCount, capacity: capacity, keyWidth: keyWidth, valueWidth: valueWidth, element: element)
    }
}

/// Storage for the keys and values of the positions a sequence has seen so far.
///
/// Row `p` of layer `l`'s keys holds the (RoPE'd) key of position `p`: heads side by side, each
/// `headDim` wide. The model writes rows `count ..< count + n` and then advances `count`.
/// Inference's `KVCache` is the implementation; tests may bring their own.
public protocol KVCacheStorage: AnyObject {
    var layout: KVCacheLayout { get }
    /// Positions filled so far; the next token runs at this position.
    var count: Int { get set }
    /// Base of layer `layer`'s key rows (`layout.capacity * layout.keyWidth` elements).
    func keys(layer: Int) -> UnsafeMutableRawPointer
    /// Base of layer `layer`'s value rows (`layout.capacity * layout.valueWidth` elements).
    func values(layer: Int) -> UnsafeMutableRawPointer
}
