import Kernels
import ModelFormats

/// Maps `general.architecture` to the type that implements it.
public enum ModelRegistry {
    /// Builds a model over an open GGUF file; `maxBatch` bounds the tokens one micro-batch
    /// carries through the weights (and so the activation memory).
    public typealias Factory = @Sendable (_ file: GGUFFile, _ pool: ThreadPool, _ maxBatch: Int) throws -> any LanguageModel

    public static let factories: [String: Factory] = [
        "llama": { try LlamaModel(file: $0, pool: $1, maxBatch: $2) },
        "qwen2": { try Qwen2Model(file: $0, pool: $1, maxBatch: $2) },
        "gemma3": { try Gemma3Model(file: $0, pool: $1, maxBatch: $2) },
    ]

    public static var supportedArchitectures: [String] { factories.keys.sorted() }

    /// The model `file` holds; throws `unsupportedArchitecture` for an architecture not listed.
    public static func model(for file: GGUFFile, pool: ThreadPool, maxBatch: Int = 64) throws -> any LanguageModel {
        guard let arch = file.architecture else { throw ModelError.missingMetadata(key: "general.architecture") }
        guard let factory = factories[arch] else { throw ModelError.unsupportedArchitecture(arch) }
        return try factory(file, pool, maxBatch)
    }
}
