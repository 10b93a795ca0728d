import Kernels
import ModelFormats
import Models

/// A model ready to run: the mapped file, the model built over it, and its configuration.
public struct LoadedModel: Sendable {
    public let file: GGUFFile
    public let model: any LanguageModel
    public let pool: ThreadPool
    public var config: ModelConfig { model.config }

    /// A fresh KV cache for this model (`capacity` defaults to its training context).
    public func makeCache(capacity: Int? = nil, element: KVCacheElement = .f16) throws -> KVCache {
        try KVCache(config: config, capacity: capacity, element: element)
    }
}

/// Path → GGUF file → model.
public enum ModelLoader {
    /// Opens the GGUF at `path` and builds the model its `general.architecture` names.
    /// `threads` defaults to every available processor; `maxBatch` bounds prefill micro-batches.
    public static func load(path: String, threads: Int? = nil, maxBatch: Int = 64) throws -> LoadedModel {
        let file = try GGUFFile(path: path)
        file.adviseWillNeed()  // start reading the weights in now rather than fault them in token by token
        let pool = ThreadPool(threads: threads ?? ThreadPool.availableProcessors)
        let model = try ModelRegistry.model(for: file, pool: pool, maxBatch: maxBatch)
        return LoadedModel(file: file, model: model, pool: pool)
    }
}
