import Kernels
import ModelFormats

/// Reads named tensors of a GGUF file as zero-copy kernel views, checking each one's shape and
/// type: the single place where checkpoint names meet the forward pass.
///
/// Matrices stay in the file's mapping, whatever their quantization. Vectors (norm weights,
/// biases) are used in place when they are F32; the rare F16/BF16/quantized vector is converted
/// once into `storage`, which the model keeps alive.
struct TensorReader {
    let file: GGUFFile
    let storage: OwnedVectors

    init(file: GGUFFile) {
        self.file = file
        storage = OwnedVectors()
    }

    /// A matrix of `rows` rows of `cols` elements: ggml shape `[cols, rows]`.
    func matrix(_ name: String, rows: Int, cols: Int) throws(ModelError) -> WeightMatrix {
        guard let t = file.tensor(named: name) else { throw .missingTensor(name) }
        return try matrix(t, rows: rows, cols: cols)
    }

    func optionalMatrix(_ name: String, rows: Int, cols: Int) throws(ModelError) -> WeightMatrix? {
        guard let t = file.tensor(named: name) else { return nil }
        return try matrix(t, rows: rows, cols: cols)
    }

    private func matrix(_ t: GGUFTensor, rows: Int, cols: Int) throws(ModelError) -> WeightMatrix {
        guard t.shape == [cols, rows] else { throw .wrongTensorShape(tensor: t.name, expected: [cols, rows], actual: t.shape) }
        guard let format = QuantFormat(rawValue: t.type.rawValue), format.isWeightFormat else {
            throw .unsupportedTensorType(tensor: t.name, type: t.type.description)
        }
        let data = file.data(of: t)
        return WeightMatrix(format: format, rows: rows, cols: cols, base: data.baseAddress!)
    }

    /// A vector of `count` floats.
    func vector(_ name: String, count: Int) throws(ModelError) -> UnsafePointer<Float> {
        guard let t = file.tensor(named: name) else { throw .missingTensor(name) }
        return try vector(t, count: count)
    }

    func optionalVector(_ name: String, count: Int) throws(ModelError) -> UnsafePointer<Float>? {
        guard let t = file.tensor(named: name) else { return nil }
        return try vector(t, count: count)
    }

    private func vector(_ t: GGUFTensor, count: Int) throws(ModelError) -> UnsafePointer<Float> {
        guard t.shape == [count] else { throw .wrongTensorShape(tensor: t.name, expected: [count], actual: t.shape) }
        guard let format = QuantFormat(rawValue: t.type.rawValue), format.isWeightFormat else {
            throw .unsupportedTensorType(tensor: t.name, type: t.type.description)
        }
        let base = file.data(of: t).baseAddress!
        if format == .f32, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
            return base.assumingMemoryBound(to: Float.self)
        }
        let converted = storage.allocate(count)
        dequantizeRow(format, base, converted, count: count)
        return UnsafePointer(converted)
    }
}

/// Float buffers converted at load time, freed with the model.
final class OwnedVectors: @unchecked Sendable {
    private var buffers: [UnsafeMutablePointer<Float>] = []

    func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
        buffers.append(p)
        return p
    }

    deinit { for p in buffers { p.deallocate() } }
}
