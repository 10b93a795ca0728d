/// Every way loading or running a model can fail, each with one sentence in the user's terms.
public enum ModelError: Error, Equatable, CustomStringConvertible, Sendable {
    /// `general.architecture` names an architecture no file in Models implements.
    case unsupportedArchitecture(String)
    /// A required GGUF metadata key is absent.
    case missingMetadata(key: String)
    /// A GGUF metadata key is present but unusable.
    case invalidMetadata(key: String, value: String, reason: String)
    /// A required tensor is absent.
    case missingTensor(String)
    /// A tensor's shape (ggml order, row length first) is not what the metadata implies.
    case wrongTensorShape(tensor: String, expected: [Int], actual: [Int])
    /// A tensor is stored in a type our kernels cannot compute with.
    case unsupportedTensorType(tensor: String, type: String)
    /// A KV cache built for another model (or another geometry) was passed to `forward`.
    case cacheMismatch(String)
    /// The tokens do not fit in the KV cache.
    case contextFull(capacity: Int, used: Int, requested: Int)
    /// A token id outside the vocabulary.
    case tokenOutOfRange(token: Int, vocabularySize: Int)
    /// `forward` was called with no tokens.
    case emptyInput

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(name):
            "Unsupported model architecture \"\(name)\": Studio runs \(ModelRegistry.supportedArchitectures.joined(separator: ", "))."
        case let .missingMetadata(key):
            "The model's metadata has no \"\(key)\", which this architecture needs."
        case let .invalidMetadata(key, value, reason):
            "Metadata \"\(key)\" is \(value), which is invalid: \(reason)."
        case let .missingTensor(name):
            "The model has no tensor named \"\(name)\"."
        case let .wrongTensorShape(tensor, expected, actual):
            "Tensor \"\(tensor)\" has shape \(actual), but the metadata implies \(expected)."
        case let .unsupportedTensorType(tensor, type):
            "Tensor \"\(tensor)\" is stored as \(type), a type Studio cannot compute with."
        case let .cacheMismatch(detail):
            "The KV cache does not fit this model: \(detail)."
        case let .contextFull(capacity, used, requested):
            "The context is full: \(requested) more tokens do not fit after \(used) of \(capacity)."
        case let .tokenOutOfRange(token, size):
            "Token id \(token) is outside the vocabulary of \(size) tokens."
        case .emptyInput:
            "No tokens were given to the model."
        }
    }
}
