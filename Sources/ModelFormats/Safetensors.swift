import Foundation

/// A safetensors file: an 8-byte little-endian header length, a JSON header naming each tensor's
/// dtype, shape and byte range, then the data. Memory-mapped; F32, F16 and BF16 are decoded.
public final class SafetensorsFile: @unchecked Sendable {
    public enum DType: String, Sendable { case f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64", i32 = "I32", u8 = "U8", i8 = "I8", bool = "BOOL", f64 = "F64"
        public var byteSize: Int {
            switch self {
            case .f32, .i32: 4
            case .f16, .bf16: 2
            case .i64, .f64: 8
            case .u8, .i8, .bool: 1
            }
        }
    }

    public struct Tensor: Sendable, Equatable {
        public let name: String
        public let dtype: DType
        /// Row-major (PyTorch) order: the last dimension varies fastest.
        public let shape: [Int]
        public let byteRange: Range<Int>
        public var elementCount: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let tensors: [Tensor]
    public let metadata: [String: String]
    private let mapping: MappedFile
    private let index: [String: Int]

    public init(path: String) throws(ModelFileError) {
        mapping = try MappedFile(path: path)
        self.path = path
        let bytes = mapping.bytes
        guard bytes.count >= 8 else { throw .invalidSafetensors("the file is \(bytes.count) bytes, too short for a header") }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(bytes.count - 8), headerLength <= 100_000_000 else {
            throw .invalidSafetensors("the header claims \(headerLength) bytes but the file has \(bytes.count - 8) after the length")
        }
        let dataStart = 8 + Int(headerLength)
        let header = Data(UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart]))
        guard let json = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw .invalidSafetensors("the header is not a JSON object")
        }
        var tensors: [Tensor] = []
        var metadata: [String: String] = [:]
        for (name, entry) in json.sorted(by: { $0.key < $1.key }) {
            if name == "__metadata__" {
                for (k, v) in (entry as? [String: Any]) ?? [:] { metadata[k] = "\(v)" }
                continue
            }
            guard let entry = entry as? [String: Any],
                  let dtypeName = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int],
                  let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw .invalidSafetensors("tensor \"\(name)\" lacks dtype, shape or data_offsets") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw .invalidSafetensors("tensor \"\(name)\" has unsupported dtype \(dtypeName)")
            }
            guard shape.allSatisfy({ $0 >= 0 && $0 < 1 << 31 }) else { throw .badTensorShape(tensor: name, detail: "\(shape)") }
            let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max / 16 : $0 * $1 }
            let begin = offsets[0], end = offsets[1]
            guard begin >= 0, end >= begin, end - begin == count * dtype.byteSize else {
                throw .invalidSafetensors("tensor \"\(name)\" spans bytes \(begin)..<\(end), which does not match its shape \(shape)")
            }
            guard dataStart + end <= bytes.count else {
                throw .tensorOutOfBounds(tensor: name, end: dataStart + end, fileSize: bytes.count)
            }
            tensors.append(Tensor(name: name, dtype: dtype, shape: shape, byteRange: dataStart + begin..<dataStart + end))
        }
        self.tensors = tensors
        self.metadata = metadata
        index = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    public func tensor(named name: String) -> Tensor? { index[name].map { tensors[$0] } }

    public func data(of tensor: Tensor) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: mapping.bytes[tensor.byteRange])
    }

    /// The tensor's values widened to Float (F32, F16 and BF16 only).
    public func floats(_ name: String) throws(ModelFileError) -> [Float] {
        guard let t = tensor(named: name) else { throw .missingTensor(name) }
        let raw = data(of: t)
        switch t.dtype {
        case .f32: return (0..<t.elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        case .f16: return (0..<t.elementCount).map { Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
        case .bf16: return (0..<t.elementCount).map { Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) << 16) }
        default: throw .invalidSafetensors("tensor \"\(name)\" is \(t.dtype.rawValue), not a float type")
        }
    }
}
