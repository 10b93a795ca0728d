import ModelFormats

/// The hyper-parameters of a decoder-only transformer, read from GGUF metadata.
///
/// Every value comes from an explicit key `<arch>.<name>` (llama.cpp's GGUF names); the few
/// optional keys have their defaults here, in one place. A missing or unusable value throws an
/// error naming the key.
public struct ModelConfig: Sendable, Equatable {
    /// `general.architecture`, e.g. "llama", "qwen2", "gemma3".
    public var architecture: String
    /// `<arch>.block_count`: transformer layers.
    public var blockCount: Int
    /// `<arch>.embedding_length`: width of the residual stream.
    public var embeddingLength: Int
    /// `<arch>.feed_forward_length`: hidden width of the FFN.
    public var feedForwardLength: Int
    /// `<arch>.attention.head_count`: query heads.
    public var headCount: Int
    /// `<arch>.attention.head_count_kv`: key/value heads (GQA when fewer than `headCount`);
    /// defaults to `headCount`.
    public var headCountKV: Int
    /// `<arch>.attention.key_length`: width of one query/key head; defaults to
    /// `embeddingLength / headCount`.
    public var headDim: Int
    /// `<arch>.attention.value_length`: width of one value head; defaults to `headDim`.
    public var valueDim: Int
    /// `<arch>.attention.layer_norm_rms_epsilon`.
    public var rmsEpsilon: Float
    /// `<arch>.context_length`: the context the model was trained for.
    public var contextLength: Int
    /// `<arch>.rope.freq_base`; defaults to 10000.
    public var ropeFreqBase: Float
    /// `<arch>.rope.dimension_count`: how many dimensions of each head are rotated; defaults to
    /// `headDim`.
    public var ropeDimensionCount: Int
    /// 1 / `<arch>.rope.scaling.factor` when `<arch>.rope.scaling.type` is "linear", else 1.
    public var ropeFreqScale: Float
    /// `<arch>.attention.sliding_window`, when the architecture has local-attention layers.
    public var slidingWindow: Int?
    /// Rows of `token_embd.weight` (checked against `<arch>.vocab_size` when present).
    public var vocabularySize: Int

    /// Query width: `headCount * headDim`.
    public var queryWidth: Int { headCount * headDim }
    /// Width of one cached key row: `headCountKV * headDim`.
    public var keyWidth: Int { headCountKV * headDim }
    /// Width of one cached value row: `headCountKV * valueDim`.
    public var valueWidth: Int { headCountKV * valueDim }

    public init(
        architecture: String, blockCount: Int, embeddingLength: Int, feedForwardLength: Int,
        headCount: Int, headCountKV: Int, headDim: Int, valueDim: Int, rmsEpsilon: Float,
        contextLength: Int, ropeFreqBase: Float, ropeDimensionCount: Int, ropeFreqScale: Float = 1,
        slidingWindow: Int? = nil, vocabularySize: Int
    ) {
        self.architecture = architecture
        self.blockCount = blockCount
        self.embeddingLength = embeddingLength
        self.feedForwardLength = feedForwardLength
        self.headCount = headCount
        self.headCountKV = headCountKV
        self.headDim = headDim
        self.valueDim = valueDim
        self.rmsEpsilon = rmsEpsilon
        self.contextLength = contextLength
        self.ropeFreqBase = ropeFreqBase
        self.ropeDimensionCount = ropeDimensionCount
        self.ropeFreqScale = ropeFreqScale
        self.slidingWindow = slidingWindow
        self.vocabularySize = vocabularySize
    }

    /// Reads the configuration of `file`'s architecture from its metadata.
    public init(gguf file: GGUFFile) throws(ModelError) {
        let keys = MetadataReader(file: file)
        let arch = try keys.string("general.architecture")
        architecture = arch
        blockCount = try keys.positiveInt("\(arch).block_count")
        embeddingLength = try keys.positiveInt("\(arch).embedding_length")
        feedForwardLength = try keys.positiveInt("\(arch).feed_forward_length")
        headCount = try keys.positiveInt("\(arch).attention.head_count")
        headCountKV = try keys.positiveInt("\(arch).attention.head_count_kv", default: headCount)
        guard headCount % headCountKV == 0 else {
            throw .invalidMetadata(
                key: "\(arch).attention.head_count_kv", value: String(headCountKV),
                reason: "it must divide the \(headCount) query heads")
        }
        if file["\(arch).attention.key_length"] == nil, embeddingLength % headCount != 0 {
            throw .invalidMetadata(
                key: "\(arch).attention.head_count", value: String(headCount),
                reason: "it must divide embedding_length \(embeddingLength) when attention.key_length is absent")
        }
        headDim = try keys.positiveInt("\(arch).attention.key_length", default: embeddingLength / headCount)
        valueDim = try keys.positiveInt("\(arch).attention.value_length", default: headDim)
        rmsEpsilon = try keys.positiveFloat("\(arch).attention.layer_norm_rms_epsilon")
        contextLength = try keys.positiveInt("\(arch).context_length")
        ropeFreqBase = try keys.positiveFloat("\(arch).rope.freq_base", default: 10000)
        ropeDimensionCount = try keys.positiveInt("\(arch).rope.dimension_count", default: headDim)
        guard ropeDimensionCount <= headDim, ropeDimensionCount % 2 == 0 else {
            throw .invalidMetadata(
                key: "\(arch).rope.dimension_count", value: String(ropeDimensionCount),
                reason: "it must be even and at most the head width \(headDim)")
        }
        ropeFreqScale = 1
        if let type = file["\(arch).rope.scaling.type"] {
            switch type.stringValue {
            case "none"?: break
            case "linear"?:
                ropeFreqScale = 1 / (try keys.positiveFloat("\(arch).rope.scaling.factor"))
            default:
                throw .invalidMetadata(
                    key: "\(arch).rope.scaling.type", value: type.description,
                    reason: "only \"none\" and \"linear\" RoPE scaling are supported")
            }
        } else if file["\(arch).rope.scaling.factor"] != nil {
            // llama.cpp reads a bare factor as linear scaling.
            ropeFreqScale = 1 / (try keys.positiveFloat("\(arch).rope.scaling.factor"))
        }
        slidingWindow = file["\(arch).attention.sliding_window"] == nil
            ? nil : try keys.positiveInt("\(arch).attention.sliding_window")

        guard let embedding = file.tensor(named: "token_embd.weight") else { throw .missingTensor("token_embd.weight") }
        guard embedding.shape.count == 2, embedding.shape[0] == embeddingLength else {
            throw .wrongTensorShape(tensor: "token_embd.weight", expected: [embeddingLength, -1], actual: embedding.shape)
        }
        vocabularySize = embedding.shape[1]
        if file["\(arch).vocab_size"] != nil {
            let declared = try keys.positiveInt("\(arch).vocab_size")
            guard declared == vocabularySize else {
                throw .invalidMetadata(
                    key: "\(arch).vocab_size", value: String(declared),
                    reason: "token_embd.weight has \(vocabularySize) rows")
            }
        }
    }
}

/// Typed metadata access that turns ModelFormats errors into `ModelError`s naming the key.
struct MetadataReader {
    let file: GGUFFile

    func string(_ key: String) throws(ModelError) -> String {
        guard let v = file[key] else { throw .missingMetadata(key: key) }
        guard let s = v.stringValue else { throw .invalidMetadata(key: key, value: v.description, reason: "it must be a string") }
        return s
    }

    func positiveInt(_ key: String, default value: Int? = nil) throws(ModelError) -> Int {
        guard let v = file[key] else {
            if let value { return value }
            throw .missingMetadata(key: key)
        }
        guard let i = v.intValue else { throw .invalidMetadata(key: key, value: v.description, reason: "it must be an integer") }
        guard i > 0, i <= 1 << 31 else { throw .invalidMetadata(key: key, value: String(i), reason: "it must be a positive integer") }
        return i
    }

    func positiveFloat(_ key: String, default value: Float? = nil) throws(ModelError) -> Float {
        guard let v = file[key] else {
            if let value { return value }
            throw .missingMetadata(key: key)
        }
        guard let d = v.doubleValue else { throw .invalidMetadata(key: key, value: v.description, reason: "it must be a number") }
        guard d > 0, d.isFinite else { throw .invalidMetadata(key: key, value: v.description, reason: "it must be a positive number") }
        return Float(d)
    }
}
