/// One tensor of a GGUF file: a typed, zero-copy view of its bytes.
public struct GGUFTensor: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    /// ggml order: `shape[0]` is the number of elements in a row (the fastest-varying dimension).
    public let shape: [Int]
    /// Absolute byte offset in the file.
    public let offset: Int
    public let byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }
    public var byteRange: Range<Int> { offset..<offset + byteCount }
}

/// A GGUF v2/v3 file, memory-mapped. Metadata is parsed eagerly (it is small); tensor data stays
/// on disk until touched.
public final class GGUFFile: @unchecked Sendable {
    public static let magic: UInt32 = 0x4655_4747  // "GGUF" little-endian
    public static let defaultAlignment = 32

    public let path: String
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    public let tensors: [GGUFTensor]
    public let alignment: Int
    public let dataOffset: Int
    private let mapping: MappedFile
    private let metadataIndex: [String: Int]
    private let tensorIndex: [String: Int]

    public var fileSize: Int { mapping.bytes.count }

    public convenience init(path: String) throws(ModelFileError) {
        try self.init(mapping: MappedFile(path: path))
    }

    /// Parses GGUF bytes held in memory (a copy is kept).
    public convenience init(bytes: UnsafeRawBufferPointer) throws(ModelFileError) {
        try self.init(mapping: MappedFile(copying: bytes))
    }

    init(mapping: MappedFile) throws(ModelFileError) {
        self.mapping = mapping
        self.path = mapping.path
        let bytes = mapping.bytes
        var r = ByteReader(bytes: bytes)
        guard bytes.count >= 4 else {
            throw bytes.count == 0 ? .notGGUF(magic: "nothing (the file is empty)") : .truncated(offset: 0, needed: 4, fileSize: bytes.count)
        }
        let magic = try r.read(UInt32.self)
        guard magic == Self.magic else { throw .notGGUF(magic: Self.describeMagic(bytes)) }
        version = try r.read(UInt32.self)
        guard version == 2 || version == 3 else { throw .unsupportedVersion(version) }
        // Each tensor info takes at least 8 (name) + 4 (n_dims) + 4 (type) + 8 (offset) bytes.
        let tensorCount = try r.readCount("a tensor count", minSize: 24)
        let kvCount = try r.readCount("a metadata count", minSize: 12)

        var metadata: [(key: String, value: GGUFValue)] = []
        metadata.reserveCapacity(kvCount)
        var metadataIndex: [String: Int] = [:]
        for _ in 0..<kvCount {
            let key = try r.readString()
            let typeOffset = r.offset
            let rawType = try r.read(UInt32.self)
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw .invalidValueType(rawType, key: key, offset: typeOffset)
            }
            let value = try Self.readValue(type, key: key, &r, depth: 0)
            metadataIndex[key] = metadata.count
            metadata.append((key, value))
        }
        self.metadata = metadata
        self.metadataIndex = metadataIndex

        var alignment = Self.defaultAlignment
        if let a = metadataIndex["general.alignment"].map({ metadata[$0].value }) {
            guard let v = a.intValue, v > 0, v & (v - 1) == 0, v <= 1 << 20 else {
                throw .badAlignment(a.intValue ?? -1)
            }
            alignment = v
        }
        self.alignment = alignment

        var infos: [(name: String, type: GGMLType, shape: [Int], relative: UInt64)] = []
        infos.reserveCapacity(tensorCount)
        for _ in 0..<tensorCount {
            let name = try r.readString()
            let nDims = Int(try r.read(UInt32.self))
            guard (1...4).contains(nDims) else {
                throw .badTensorShape(tensor: name, detail: "\(nDims) dimensions (1 to 4 are allowed)")
            }
            var shape: [Int] = []
            var elements = 1
            for _ in 0..<nDims {
                let d = try r.read(UInt64.self)
                guard d <= UInt64(Int32.max) else { throw .badTensorShape(tensor: name, detail: "a dimension of \(d)") }
                let (m, overflow) = elements.multipliedReportingOverflow(by: Int(d))
                guard !overflow, m <= Int(UInt32.max) * 64 else {
                    throw .badTensorShape(tensor: name, detail: "too many elements")
                }
                elements = m
                shape.append(Int(d))
            }
            let rawType = try r.read(UInt32.self)
            guard let type = GGMLType(rawValue: rawType) else { throw .unknownTensorType(rawType, tensor: name) }
            guard shape[0] % type.blockSize == 0 else {
                throw .badTensorShape(tensor: name, detail: "a row of \(shape[0]) is not a whole number of \(type) blocks of \(type.blockSize)")
            }
            infos.append((name, type, shape, try r.read(UInt64.self)))
        }

        let dataOffset = (r.offset + alignment - 1) / alignment * alignment
        self.dataOffset = dataOffset
        var tensors: [GGUFTensor] = []
        tensors.reserveCapacity(infos.count)
        var tensorIndex: [String: Int] = [:]
        for info in infos {
            guard info.relative <= UInt64(bytes.count) else {
                throw .tensorOutOfBounds(tensor: info.name, end: Int.max, fileSize: bytes.count)
            }
            let relative = Int(info.relative)
            guard relative % alignment == 0 else {
                throw .misalignedTensor(tensor: info.name, offset: relative, alignment: alignment)
            }
            let elements = info.shape.reduce(1, *)
            let byteCount = elements / info.type.blockSize * info.type.blockBytes
            let start = dataOffset + relative
            guard start + byteCount <= bytes.count else {
                throw .tensorOutOfBounds(tensor: info.name, end: start + byteCount, fileSize: bytes.count)
            }
            guard tensorIndex[info.name] == nil else { throw .duplicateTensor(info.name) }
            tensorIndex[info.name] = tensors.count
            tensors.append(GGUFTensor(name: info.name, type: info.type, shape: info.shape, offset: start, byteCount: byteCount))
        }
        self.tensors = tensors
        self.tensorIndex = tensorIndex
    }

    private static func readValue(_ type: GGUFValueType, key: String, _ r: inout ByteReader, depth: Int) throws(ModelFileError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try r.read(UInt8.self))
        case .int8: return .int8(try r.read(Int8.self))
        case .uint16: return .uint16(try r.read(UInt16.self))
        case .int16: return .int16(try r.read(Int16.self))
        case .uint32: return .uint32(try r.read(UInt32.self))
        case .int32: return .int32(try r.read(Int32.self))
        case .float32: return .float32(try r.readFloat())
        case .bool:
            return .bool(try r.read(UInt8.self) != 0)
        case .string: return .string(try r.readString())
        case .uint64: return .uint64(try r.read(UInt64.self))
        case .int64: return .int64(try r.read(Int64.self))
        case .float64: return .float64(try r.readDouble())
        case .array:
            let typeOffset = r.offset
            let rawType = try r.read(UInt32.self)
            guard let elementType = GGUFValueType(rawValue: rawType), depth < 8 else {
                throw .invalidValueType(rawType, key: key, offset: typeOffset)
            }
            let count = try r.readCount("an array length of \"\(key)\"", minSize: elementType.minimumEncodedSize)
            var values: [GGUFValue] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try readValue(elementType, key: key, &r, depth: depth + 1)) }
            return .array(elementType, values)
        }
    }

    private static func describeMagic(_ bytes: UnsafeRawBufferPointer) -> String {
        let head = bytes.prefix(4)
        if head.allSatisfy({ (0x20..<0x7f).contains($0) }) { return "\"\(String(decoding: head, as: UTF8.self))\"" }
        return head.map { "0x" + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
    }

    // MARK: - Lookup

    public subscript(key: String) -> GGUFValue? { metadataIndex[key].map { metadata[$0].value } }

    public func tensor(named name: String) -> GGUFTensor? { tensorIndex[name].map { tensors[$0] } }

    /// The raw bytes of a tensor, in place in the mapping; valid while this file is alive.
    public func data(of tensor: GGUFTensor) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: mapping.bytes[tensor.byteRange])
    }

    public func adviseWillNeed() { mapping.adviseWillNeed() }

    public var architecture: String? { self["general.architecture"]?.stringValue }

    public func string(_ key: String) throws(ModelFileError) -> String {
        guard let v = self[key] else { throw .missingMetadata(key) }
        guard let s = v.stringValue else { throw .wrongMetadataType(key: key, expected: "a string") }
        return s
    }

    public func int(_ key: String) throws(ModelFileError) -> Int {
        guard let v = self[key] else { throw .missingMetadata(key) }
        guard let i = v.intValue else { throw .wrongMetadataType(key: key, expected: "an integer") }
        return i
    }

    public func double(_ key: String) throws(ModelFileError) -> Double {
        guard let v = self[key] else { throw .missingMetadata(key) }
        guard let d = v.doubleValue else { throw .wrongMetadataType(key: key, expected: "a number") }
        return d
    }

    public func stringArray(_ key: String) throws(ModelFileError) -> [String] {
        guard let v = self[key] else { throw .missingMetadata(key) }
        guard case let .array(.string, items) = v else { throw .wrongMetadataType(key: key, expected: "an array of strings") }
        return items.map { $0.stringValue ?? "" }
    }

    public func intArray(_ key: String) throws(ModelFileError) -> [Int] {
        guard let v = self[key] else { throw .missingMetadata(key) }
        guard let items = v.arrayValue else { throw .wrongMetadataType(key: key, expected: "an array of integers") }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let i = item.intValue else { throw .wrongMetadataType(key: key, expected: "an array of integers") }
            out.append(i)
        }
        return out
    }

    public func doubleArray(_ key: String) throws(ModelFileError) -> [Double] {
        guard let v = self[key] else { throw .missingMetadata(key) }
        guard let items = v.arrayValue else { throw .wrongMetadataType(key: key, expected: "an array of numbers") }
        var out: [Double] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let d = item.doubleValue else { throw .wrongMetadataType(key: key, expected: "an array of numbers") }
            out.append(d)
        }
        return out
    }
}
