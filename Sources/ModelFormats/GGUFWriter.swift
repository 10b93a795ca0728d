import Foundation

/// Builds a GGUF v3 file in memory: tests make tiny models with it, and conversions write with it.
public struct GGUFWriter {
    public private(set) var metadata: [(key: String, value: GGUFValue)] = []
    private var tensors: [(name: String, type: GGMLType, shape: [Int], data: [UInt8])] = []

    public init() {}

    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let i = metadata.firstIndex(where: { $0.key == key }) { metadata[i].value = value } else { metadata.append((key, value)) }
    }

    /// Adds a tensor; `shape` is in ggml order (`shape[0]` is the row length) and `data` must be
    /// exactly the bytes its type and shape need.
    public mutating func addTensor(_ name: String, type: GGMLType, shape: [Int], data: [UInt8]) throws(ModelFileError) {
        let elements = shape.reduce(1, *)
        guard !shape.isEmpty, shape.count <= 4, shape[0] % type.blockSize == 0 else {
            throw .badTensorShape(tensor: name, detail: "\(shape) for \(type)")
        }
        let expected = elements / type.blockSize * type.blockBytes
        guard data.count == expected else {
            throw .badTensorShape(tensor: name, detail: "\(data.count) bytes given, \(expected) needed")
        }
        guard !tensors.contains(where: { $0.name == name }) else { throw .duplicateTensor(name) }
        tensors.append((name, type, shape, data))
    }

    /// Convenience for F32 tensors.
    public mutating func addTensor(_ name: String, shape: [Int], floats: [Float]) throws(ModelFileError) {
        var bytes = [UInt8](repeating: 0, count: floats.count * 4)
        bytes.withUnsafeMutableBytes { dst in floats.withUnsafeBytes { dst.copyMemory(from: $0) } }
        try addTensor(name, type: .f32, shape: shape, data: bytes)
    }

    public func encoded() -> [UInt8] {
        let alignment = metadata.first { $0.key == "general.alignment" }?.value.intValue ?? GGUFFile.defaultAlignment
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); out.append(contentsOf: s.utf8) }
        func value(_ v: GGUFValue) {
            switch v {
            case let .uint8(x): out.append(x)
            case let .int8(x): out.append(UInt8(bitPattern: x))
            case let .uint16(x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case let .int16(x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case let .uint32(x): u32(x)
            case let .int32(x): u32(UInt32(bitPattern: x))
            case let .float32(x): u32(x.bitPattern)
            case let .bool(x): out.append(x ? 1 : 0)
            case let .string(s): string(s)
            case let .uint64(x): u64(x)
            case let .int64(x): u64(UInt64(bitPattern: x))
            case let .float64(x): u64(x.bitPattern)
            case let .array(type, items):
                u32(type.rawValue)
                u64(UInt64(items.count))
                for item in items { value(item) }
            }
        }

        u32(GGUFFile.magic)
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (key, v) in metadata {
            string(key)
            u32(v.type.rawValue)
            value(v)
        }
        var offsets: [Int] = []
        var next = 0
        for t in tensors {
            offsets.append(next)
            next = (next + t.data.count + alignment - 1) / alignment * alignment
        }
        for (t, offset) in zip(tensors, offsets) {
            string(t.name)
            u32(UInt32(t.shape.count))
            for d in t.shape { u64(UInt64(d)) }
            u32(t.type.rawValue)
            u64(UInt64(offset))
        }
        let dataStart = (out.count + alignment - 1) / alignment * alignment
        out.append(contentsOf: [UInt8](repeating: 0, count: dataStart - out.count))
        for (t, offset) in zip(tensors, offsets) {
            out.append(contentsOf: [UInt8](repeating: 0, count: dataStart + offset - out.count))
            out.append(contentsOf: t.data)
        }
        return out
    }

    public func write(to path: String) throws {
        try Data(encoded()).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
