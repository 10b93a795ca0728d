/// What `studio inspect` and `studio models` show about a GGUF file, computed from its header.
public struct GGUFSummary: Sendable, Codable, Equatable {
    public struct QuantShare: Sendable, Codable, Equatable {
        public let type: String
        public let tensors: Int
        public let bytes: Int
    }

    public let path: String
    public let fileSize: Int
    public let version: Int
    public let architecture: String?
    public let name: String?
    public let tensorCount: Int
    public let parameterCount: Int
    public let blockCount: Int?
    public let embeddingLength: Int?
    public let contextLength: Int?
    public let headCount: Int?
    public let headCountKV: Int?
    public let vocabularySize: Int?
    public let fileType: String?
    public let hasChatTemplate: Bool
    /// Tensors and bytes per type, the most bytes first.
    public let quantMix: [QuantShare]

    public init(_ file: GGUFFile) {
        path = file.path
        fileSize = file.fileSize
        version = Int(file.version)
        let arch = file.architecture
        architecture = arch
        name = file["general.name"]?.stringValue
        tensorCount = file.tensors.count
        parameterCount = file.tensors.reduce(0) { $0 + $1.elementCount }
        func archInt(_ key: String) -> Int? { arch.flatMap { file["\($0).\(key)"]?.intValue } }
        blockCount = archInt("block_count")
        embeddingLength = archInt("embedding_length")
        contextLength = archInt("context_length")
        headCount = archInt("attention.head_count")
        headCountKV = archInt("attention.head_count_kv")
        vocabularySize = file["tokenizer.ggml.tokens"]?.arrayValue?.count ?? archInt("vocab_size")
        hasChatTemplate = file["tokenizer.chat_template"]?.stringValue.map { !$0.isEmpty } ?? false
        fileType = file["general.file_type"]?.intValue.map(Self.fileTypeName)
        var shares: [GGMLType: (Int, Int)] = [:]
        for t in file.tensors { shares[t.type, default: (0, 0)].0 += 1; shares[t.type, default: (0, 0)].1 += t.byteCount }
        quantMix = shares.map { QuantShare(type: $0.key.description, tensors: $0.value.0, bytes: $0.value.1) }
            .sorted { ($0.bytes, $0.type) > ($1.bytes, $1.type) }
    }

    /// llama.cpp's `general.file_type` numbering (LLAMA_FTYPE_*).
    static func fileTypeName(_ v: Int) -> String {
        let names = [0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
                     11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M",
                     18: "Q6_K", 32: "BF16"]
        return names[v] ?? "type \(v)"
    }
}
