/// Every way a model file can be unreadable, each with one sentence in the user's terms.
public enum ModelFileError: Error, Equatable, CustomStringConvertible, Sendable {
    case cannotOpen(path: String, reason: String)
    case notGGUF(magic: String)
    case unsupportedVersion(UInt32)
    case truncated(offset: Int, needed: Int, fileSize: Int)
    case absurdCount(what: String, count: UInt64, offset: Int)
    case invalidValueType(UInt32, key: String, offset: Int)
    case unknownTensorType(UInt32, tensor: String)
    case badTensorShape(tensor: String, detail: String)
    case tensorOutOfBounds(tensor: String, end: Int, fileSize: Int)
    case misalignedTensor(tensor: String, offset: Int, alignment: Int)
    case duplicateTensor(String)
    case badAlignment(Int)
    case invalidSafetensors(String)
    case missingTensor(String)
    case missingMetadata(String)
    case wrongMetadataType(key: String, expected: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "Cannot open \(path): \(reason)."
        case let .notGGUF(magic): "Not a GGUF file: it starts with \(magic) instead of \"GGUF\"."
        case let .unsupportedVersion(v): "Unsupported GGUF version \(v): only versions 2 and 3 are read."
        case let .truncated(offset, needed, size):
            "The file is truncated: \(needed) more bytes were needed at offset \(offset), but the file ends at \(size)."
        case let .absurdCount(what, count, offset):
            "The file is corrupt: \(what) of \(count) at offset \(offset) cannot fit in the file."
        case let .invalidValueType(t, key, offset):
            "The file is corrupt: metadata key \"\(key)\" has unknown value type \(t) at offset \(offset)."
        case let .unknownTensorType(t, tensor): "Tensor \"\(tensor)\" has an unsupported type id \(t)."
        case let .badTensorShape(tensor, detail): "Tensor \"\(tensor)\" has an invalid shape: \(detail)."
        case let .tensorOutOfBounds(tensor, end, size):
            "Tensor \"\(tensor)\" points past the end of the file (its data ends at \(end), the file at \(size)): the file is truncated or corrupt."
        case let .misalignedTensor(tensor, offset, alignment):
            "Tensor \"\(tensor)\" starts at data offset \(offset), which is not a multiple of the alignment \(alignment)."
        case let .duplicateTensor(name): "The file is corrupt: tensor \"\(name)\" appears twice."
        case let .badAlignment(a): "general.alignment is \(a); it must be a power of two."
        case let .invalidSafetensors(detail): "Not a valid safetensors file: \(detail)."
        case let .missingTensor(name): "The model has no tensor named \"\(name)\"."
        case let .missingMetadata(key): "The model's metadata has no \"\(key)\"."
        case let .wrongMetadataType(key, expected): "Metadata \"\(key)\" is not \(expected)."
        }
    }
}
