import Foundation
import Kernels
import ModelFormats
import Testing
import Models

/// Tiny random models built in memory (F32 weights), checked against a plain scalar
/// transformer written here from the equations, plus the loader's and forward's error paths.
@Suite struct ModelsTests {
    // MARK: - Forward pass against the scalar reference

    @Test(arguments: [TinyModel.Arch.llama, .qwen2, .gemma3])
    func forwardMatchesScalarReference(arch: TinyModel.Arch) throws {
        let tiny = TinyModel(arch: arch)
        let model = try tiny.load()
        let tokens = [3, 17, 42, 8, 8, 29, 1, 33, 12, 5, 47, 20]
        let expected = tiny.referenceLogits(tokens)

        let cache = TestCache(model.config, capacity: 32)
        let logits = try model.forward(tokens: tokens, cache: cache, logits: .all)
        #expect(cache.count == tokens.count)
        let error = maxRelativeError(logits, expected.flatMap { $0 })
        #expect(error < 1e-4, "\(arch): prefill logits differ from the scalar reference by \(error)")
    }

    /// Prefill of N tokens (several micro-batches) gives the same logits as N decode steps.
    @Test(arguments: [TinyModel.Arch.llama, .qwen2, .gemma3])
    func prefillEqualsDecodeSteps(arch: TinyModel.Arch) throws {
        let tiny = TinyModel(arch: arch)
        let model = try tiny.load(maxBatch: 5)
        let tokens = [9, 2, 40, 40, 13, 7, 31, 0, 49, 22, 6]

        let batched = TestCache(model.config, capacity: 16)
        let all = try model.forward(tokens: tokens, cache: batched, logits: .all)
        let lastOnly = TestCache(model.config, capacity: 16)
        let last = try model.forward(tokens: tokens, cache: lastOnly, logits: .last)

        let stepwise = TestCache(model.config, capacity: 16, element: .f16)
        let exact = TestCache(model.config, capacity: 16)
        var row: [Float] = []
        let vocab = model.config.vocabularySize
        for (i, t) in tokens.enumerated() {
            try model.forward(tokens: [t], cache: exact, logits: .last, into: &row)
            let reference = Array(all[(i * vocab)..<((i + 1) * vocab)])
            #expect(maxRelativeError(row, reference) < 1e-5, "\(arch): decode step \(i) differs from prefill")
            let half = try model.forward(tokens: [t], cache: stepwise, logits: .last)
            #expect(maxRelativeError(half, reference) < 2e-2, "\(arch): F16 cache step \(i) strays from F32")
        }
        #expect(maxRelativeError(last, Array(all.suffix(vocab))) < 1e-5)
    }

    /// Several sequences packed into shared micro-batches (each with its own cache, position and
    /// logits selection) give what each gives alone.
    @Test(arguments: [TinyModel.Arch.llama, .qwen2, .gemma3])
    func batchedSequencesEqualSeparateRuns(arch: TinyModel.Arch) throws {
        let model = try TinyModel(arch: arch).load(maxBatch: 5)
        let histories = [[1, 2, 3, 4, 5, 6, 7], [], [9, 8]]
        let steps: [([Int], LogitsSelection)] = [([11], .last), ([12, 13, 14, 15, 16, 17, 18], .all), ([19, 20, 21], .none)]
        func primed(_ history: [Int]) throws -> TestCache {
            let cache = TestCache(model.config, capacity: 32)
            if !history.isEmpty { _ = try model.forward(tokens: history, cache: cache, logits: .none) }
            return cache
        }
        var expected: [Float] = []
        for (history, step) in zip(histories, steps) {
            expected += try model.forward(tokens: step.0, cache: try primed(history), logits: step.1)
        }
        let caches = try histories.map(primed)
        var output: [Float] = []
        let ranges = try model.forward(
            sequences: zip(steps, caches).map { SequenceInput(tokens: $0.0.0, cache: $0.1, logits: $0.0.1) }, into: &output)
        let vocab = model.config.vocabularySize
        #expect(ranges == [0..<vocab, vocab..<(8 * vocab), (8 * vocab)..<(8 * vocab)])
        #expect(maxRelativeError(output, expected) < 1e-5, "\(arch): batched sequences differ from separate runs")
        #expect(caches.map(\.count) == [8, 7, 5])

        let shared = TestCache(model.config, capacity: 8)
        #expect(throws: ModelError.self) {
            try model.forward(sequences: [SequenceInput(tokens: [1], cache: shared, logits: .last),
                                          SequenceInput(tokens: [2], cache: shared, logits: .last)], into: &output)
        }
        #expect(shared.count == 0)
    }

    /// Decoding after a long context splits each head's span into pieces across threads and
    /// merges their partial softmaxes; it must agree with the reference and with prefill.
    @Test func longContextDecodeMergesPieces() throws {
        let tiny = TinyModel(arch: .llama)
        let model = try tiny.load()
        let tokens = (0..<300).map { ($0 * 37 + 11) % tiny.vocab }
        let cache = TestCache(model.config, capacity: 300)
        var none: [Float] = []
        try model.forward(tokens: Array(tokens.dropLast()), cache: cache, logits: .none, into: &none)
        let decoded = try model.forward(tokens: [tokens.last!], cache: cache)
        let expected = tiny.referenceLogits(tokens).last!
        #expect(maxRelativeError(decoded, expected) < 1e-4)
        let prefilled = try model.forward(tokens: tokens, cache: TestCache(model.config, capacity: 300), logits: .last)
        #expect(maxRelativeError(decoded, prefilled) < 1e-5)
    }

    /// The same with a sliding window wide enough to be split too (gemma3's local layers).
    @Test func longContextDecodeWithSlidingWindow() throws {
        var tiny = TinyModel(arch: .gemma3)
        tiny.window = 260
        let model = try tiny.load()
        let tokens = (0..<300).map { ($0 * 29 + 3) % tiny.vocab }
        let cache = TestCache(model.config, capacity: 300)
        var none: [Float] = []
        try model.forward(tokens: Array(tokens.dropLast()), cache: cache, logits: .none, into: &none)
        let decoded = try model.forward(tokens: [tokens.last!], cache: cache)
        #expect(maxRelativeError(decoded, tiny.referenceLogits(tokens).last!) < 1e-4)
    }

    /// An untied `output.weight` and Llama 3.1's `rope_freqs.weight` are used when present.
    @Test func untiedOutputAndRopeFrequencyFactors() throws {
        var tiny = TinyModel(arch: .llama)
        tiny.untiedOutput = true
        tiny.ropeFactors = true
        let model = try tiny.load()
        let tokens = [1, 2, 3]
        let logits = try model.forward(tokens: tokens, cache: TestCache(model.config, capacity: 8), logits: .all)
        #expect(maxRelativeError(logits, tiny.referenceLogits(tokens).flatMap { $0 }) < 1e-4)
    }

    // MARK: - Configuration

    @Test func configReadsExplicitKeys() throws {
        let tiny = TinyModel(arch: .gemma3)
        let c = try ModelConfig(gguf: try tiny.file())
        #expect(c.architecture == "gemma3")
        #expect(c.blockCount == tiny.layers && c.embeddingLength == tiny.dim && c.feedForwardLength == tiny.ff)
        #expect(c.headCount == tiny.heads && c.headCountKV == tiny.kvHeads && c.headDim == tiny.headDim)
        #expect(c.slidingWindow == tiny.window && c.vocabularySize == tiny.vocab && c.contextLength == 64)
        #expect(c.ropeFreqBase == tiny.ropeBase)
    }

    @Test func missingOrBadMetadataNamesTheKey() throws {
        var tiny = TinyModel(arch: .llama)
        tiny.drop = ["llama.attention.head_count"]
        #expect(throws: ModelError.missingMetadata(key: "llama.attention.head_count")) { try tiny.load() }

        tiny = TinyModel(arch: .llama)
        tiny.override = ["llama.attention.head_count_kv": .uint32(3)]
        #expect(throws: ModelError.invalidMetadata(key: "llama.attention.head_count_kv", value: "3", reason: "it must divide the 4 query heads")) {
            try tiny.load()
        }

        tiny = TinyModel(arch: .llama)
        tiny.override = ["llama.block_count": .string("two")]
        #expect(throws: ModelError.invalidMetadata(key: "llama.block_count", value: "two", reason: "it must be an integer")) { try tiny.load() }

        tiny = TinyModel(arch: .gemma3)
        tiny.drop = ["gemma3.attention.sliding_window"]
        #expect(throws: ModelError.missingMetadata(key: "gemma3.attention.sliding_window")) { try tiny.load() }
    }

    @Test func unknownArchitectureIsRejected() throws {
        var tiny = TinyModel(arch: .llama)
        tiny.override = ["general.architecture": .string("mamba")]
        let error = #expect(throws: ModelError.self) { try tiny.load() }
        #expect(error == .unsupportedArchitecture("mamba"))
        #expect(error?.description.contains("llama, qwen2") == true)
    }

    @Test func tensorProblemsAreClear() throws {
        var tiny = TinyModel(arch: .qwen2)
        tiny.skipTensors = ["blk.1.attn_k.bias"]
        #expect(throws: ModelError.missingTensor("blk.1.attn_k.bias")) { try tiny.load() }

        tiny = TinyModel(arch: .llama)
        tiny.reshape = ["blk.0.ffn_up.weight": [tiny.ff, tiny.dim]]
        #expect(throws: ModelError.wrongTensorShape(tensor: "blk.0.ffn_up.weight", expected: [tiny.dim, tiny.ff], actual: [tiny.ff, tiny.dim])) {
            try tiny.load()
        }

        tiny = TinyModel(arch: .llama)
        tiny.retype = ["blk.0.attn_q.weight": .i32]
        #expect(throws: ModelError.unsupportedTensorType(tensor: "blk.0.attn_q.weight", type: "I32")) { try tiny.load() }
    }

    // MARK: - Forward's argument checks

    @Test func forwardRejectsBadCallsWithoutTouchingTheCache() throws {
        let tiny = TinyModel(arch: .llama)
        let model = try tiny.load()
        let cache = TestCache(model.config, capacity: 4)
        #expect(throws: ModelError.emptyInput) { try model.forward(tokens: [], cache: cache) }
        #expect(throws: ModelError.tokenOutOfRange(token: tiny.vocab, vocabularySize: tiny.vocab)) {
            try model.forward(tokens: [1, tiny.vocab], cache: cache)
        }
        #expect(throws: ModelError.tokenOutOfRange(token: -1, vocabularySize: tiny.vocab)) { try model.forward(tokens: [-1], cache: cache) }
        _ = try model.forward(tokens: [1, 2, 3], cache: cache)
        #expect(throws: ModelError.contextFull(capacity: 4, used: 3, requested: 2)) { try model.forward(tokens: [4, 5], cache: cache) }
        #expect(cache.count == 3)

        let other = TinyModel(arch: .gemma3)
        let wrong = TestCache(try ModelConfig(gguf: try other.file()), capacity: 4)
        #expect(throws: ModelError.self) { try model.forward(tokens: [1], cache: wrong) }
        #expect(wrong.count == 0)
    }

    @Test func noneSelectionOnlyFillsTheCache() throws {
        let model = try TinyModel(arch: .qwen2).load()
        let cache = TestCache(model.config, capacity: 8)
        var out: [Float] = [1, 2, 3]
        try model.forward(tokens: [5, 6, 7], cache: cache, logits: .none, into: &out)
        #expect(out.isEmpty && cache.count == 3)
        let next = try model.forward(tokens: [8], cache: cache)
        let full = try model.forward(tokens: [5, 6, 7, 8], cache: TestCache(model.config, capacity: 8))
        #expect(maxRelativeError(next, full) < 1e-5)
    }
}

// MARK: - Fixtures

func maxRelativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "lengths \(a.count) and \(b.count) differ")
    var scale: Float = 1e-3
    for v in b { scale = max(scale, abs(v)) }
    var worst: Float = 0
    for (x, y) in zip(a, b) { worst = max(worst, abs(x - y) / scale) }
    return worst
}

/// A KV cache for tests (the real one lives in Inference).
final class TestCache: KVCacheStorage {
    let layout: KVCacheLayout
    var count = 0
    private let keyData: [UnsafeMutableRawPointer]
    private let valueData: [UnsafeMutableRawPointer]

    init(_ config: ModelConfig, capacity: Int, element: KVCacheElement = .f32) {
        layout = config.cacheLayout(capacity: capacity, element: element)
        let l = layout
        keyData = (0..<l.layers).map { _ in .allocate(byteCount: l.capacity * l.keyWidth * l.element.byteCount, alignment: 64) }
        valueData = (0..<l.layers).map { _ in .allocate(byteCount: l.capacity * l.valueWidth * l.element.byteCount, alignment: 64) }
    }

    deinit { for p in keyData + valueData { p.deallocate() } }

    func keys(layer: Int) -> UnsafeMutableRawPointer { keyData[layer] }
    func values(layer: Int) -> UnsafeMutableRawPointer { valueData[layer] }
}

/// A tiny model of one of the supported architectures with random F32 weights, and the plain
/// scalar forward pass it must agree with.
struct TinyModel {
    enum Arch: String, CustomTestStringConvertible, Sendable {
        case llama, qwen2, gemma3
        var testDescription: String { rawValue }
    }

    let arch: Arch
    var layers: Int
    let dim = 32, ff = 48, heads = 4, kvHeads = 2, vocab = 50
    var headDim: Int { arch == .gemma3 ? 16 : dim / heads }
    var window = 4
    var ropeBase: Float { arch == .llama ? 10000 : 1_000_000 }
    let eps: Float = 1e-5
    var untiedOutput = false
    var ropeFactors = false
    // Corruptions for the error-path tests.
    var drop: Set<String> = []
    var override: [String: GGUFValue] = [:]
    var skipTensors: Set<String> = []
    var reshape: [String: [Int]] = [:]
    var retype: [String: GGMLType] = [:]

    init(arch: Arch) {
        self.arch = arch
        layers = arch == .gemma3 ? 6 : 2  // gemma3: layers 0-4 local, 5 global
    }

    // MARK: Weights

    /// Deterministic weights: every tensor from its own seeded generator.
    func weights(_ name: String, _ count: Int, around center: Float = 0, spread: Float = 0.4) -> [Float] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for b in name.utf8 { state = (state ^ UInt64(b)) &* 0x100_0000_01B3 }
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return center + spread * (Float(state >> 40) / Float(1 << 24) - 0.5)
        }
    }

    var tensorList: [(name: String, shape: [Int])] {
        var list: [(String, [Int])] = [("token_embd.weight", [dim, vocab]), ("output_norm.weight", [dim])]
        if untiedOutput { list.append(("output.weight", [dim, vocab])) }
        if ropeFactors { list.append(("rope_freqs.weight", [headDim / 2])) }
        for l in 0..<layers {
            let p = "blk.\(l)."
            list += [
                (p + "attn_norm.weight", [dim]), (p + "ffn_norm.weight", [dim]),
                (p + "attn_q.weight", [dim, heads * headDim]), (p + "attn_k.weight", [dim, kvHeads * headDim]),
                (p + "attn_v.weight", [dim, kvHeads * headDim]), (p + "attn_output.weight", [heads * headDim, dim]),
                (p + "ffn_gate.weight", [dim, ff]), (p + "ffn_up.weight", [dim, ff]), (p + "ffn_down.weight", [ff, dim]),
            ]
            if arch == .qwen2 {
                list += [(p + "attn_q.bias", [heads * headDim]), (p + "attn_k.bias", [kvHeads * headDim]), (p + "attn_v.bias", [kvHeads * headDim])]
            }
            if arch == .gemma3 {
                list += [
                    (p + "attn_q_norm.weight", [headDim]), (p + "attn_k_norm.weight", [headDim]),
                    (p + "post_attention_norm.weight", [dim]), (p + "post_ffw_norm.weight", [dim]),
                ]
            }
        }
        return list
    }

    func tensor(_ name: String, _ count: Int) -> [Float] {
        if name.hasSuffix("norm.weight") { return weights(name, count, around: 1, spread: 0.5) }
        if name == "token_embd.weight" { return weights(name, count, spread: 2) }
        if name == "rope_freqs.weight" { return weights(name, count, around: 4, spread: 6) }
        return weights(name, count)
    }

    func file() throws -> GGUFFile {
        var w = GGUFWriter()
        let a = arch.rawValue
        var meta: [(String, GGUFValue)] = [
            ("general.architecture", .string(a)),
            ("\(a).block_count", .uint32(UInt32(layers))), ("\(a).context_length", .uint32(64)),
            ("\(a).embedding_length", .uint32(UInt32(dim))), ("\(a).feed_forward_length", .uint32(UInt32(ff))),
            ("\(a).attention.head_count", .uint32(UInt32(heads))), ("\(a).attention.head_count_kv", .uint32(UInt32(kvHeads))),
            ("\(a).attention.layer_norm_rms_epsilon", .float32(eps)), ("\(a).rope.freq_base", .float32(ropeBase)),
        ]
        if arch == .gemma3 {
            meta += [("\(a).attention.key_length", .uint32(UInt32(headDim))), ("\(a).attention.value_length", .uint32(UInt32(headDim))),
                     ("\(a).attention.sliding_window", .uint32(UInt32(window)))]
        }
        for (k, v) in meta where !drop.contains(k) { w.set(k, override[k] ?? v) }
        for (k, v) in override where !meta.contains(where: { $0.0 == k }) { w.set(k, v) }
        for (name, shape) in tensorList where !skipTensors.contains(name) {
            let s = reshape[name] ?? shape
            let values = tensor(name, s.reduce(1, *))
            if let type = retype[name] {
                try w.addTensor(name, type: type, shape: s, data: values.withUnsafeBytes { Array($0) })
            } else {
                try w.addTensor(name, shape: s, floats: values)
            }
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-\(UUID().uuidString).gguf").path
        try w.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try GGUFFile(path: path)  // the mapping outlives the unlinked file
    }

    func load(maxBatch: Int = 64) throws -> any LanguageModel {
        try ModelRegistry.model(for: try file(), pool: ThreadPool(threads: 2), maxBatch: maxBatch)
    }

    // MARK: The scalar reference

    /// Logits of every position, computed token by token with plain loops in Double.
    func referenceLogits(_ tokens: [Int]) -> [[Float]] {
        func w(_ name: String) -> [Double] {
            let shape = tensorList.first { $0.name == name }!.shape
            return tensor(name, shape.reduce(1, *)).map(Double.init)
        }
        /// y = W x for W stored with rows of `cols`.
        func matvec(_ m: [Double], _ x: [Double]) -> [Double] {
            let cols = x.count, rows = m.count / cols
            return (0..<rows).map { r in (0..<cols).reduce(0.0) { $0 + m[r * cols + $1] * x[$1] } }
        }
        func rmsNorm(_ x: [Double], _ g: [Double]) -> [Double] {
            let ms = x.reduce(0) { $0 + $1 * $1 } / Double(x.count)
            let s = 1 / (ms + Double(eps)).squareRoot()
            return zip(x, g).map { $0 * s * $1 }
        }
        func rope(_ v: inout [Double], offset: Int, position: Int, base: Double) {
            let d = headDim, half = d / 2
            let factors = ropeFactors ? w("rope_freqs.weight") : [Double](repeating: 1, count: half)
            for i in 0..<half {
                let theta = Double(position) * pow(base, -2 * Double(i) / Double(d)) / factors[i]
                let (a, b) = arch == .llama ? (offset + 2 * i, offset + 2 * i + 1) : (offset + i, offset + i + half)
                let x0 = v[a], x1 = v[b]
                v[a] = x0 * cos(theta) - x1 * sin(theta)
                v[b] = x0 * sin(theta) + x1 * cos(theta)
            }
        }
        let embedding = w("token_embd.weight")
        let output = untiedOutput ? w("output.weight") : embedding
        var keys = Array(repeating: [[Double]](), count: layers)
        var values = Array(repeating: [[Double]](), count: layers)
        var result: [[Float]] = []
        let group = heads / kvHeads
        for (pos, token) in tokens.enumerated() {
            var x = Array(embedding[(token * dim)..<((token + 1) * dim)])
            if arch == .gemma3 { x = x.map { $0 * Double(dim).squareRoot() } }
            for l in 0..<layers {
                let p = "blk.\(l)."
                let local = arch == .gemma3 && l % 6 < 5
                let base = local ? 10000 : Double(ropeBase)
                let h = rmsNorm(x, w(p + "attn_norm.weight"))
                var q = matvec(w(p + "attn_q.weight"), h)
                var k = matvec(w(p + "attn_k.weight"), h)
                var v = matvec(w(p + "attn_v.weight"), h)
                if arch == .qwen2 {
                    q = zip(q, w(p + "attn_q.bias")).map(+)
                    k = zip(k, w(p + "attn_k.bias")).map(+)
                    v = zip(v, w(p + "attn_v.bias")).map(+)
                }
                for hd in 0..<heads {
                    if arch == .gemma3 {
                        q.replaceSubrange((hd * headDim)..<((hd + 1) * headDim),
                                          with: rmsNorm(Array(q[(hd * headDim)..<((hd + 1) * headDim)]), w(p + "attn_q_norm.weight")))
                    }
                    rope(&q, offset: hd * headDim, position: pos, base: base)
                }
                for hd in 0..<kvHeads {
                    if arch == .gemma3 {
                        k.replaceSubrange((hd * headDim)..<((hd + 1) * headDim),
                                          with: rmsNorm(Array(k[(hd * headDim)..<((hd + 1) * headDim)]), w(p + "attn_k_norm.weight")))
                    }
                    rope(&k, offset: hd * headDim, position: pos, base: base)
                }
                keys[l].append(k)
                values[l].append(v)
                var attended = [Double](repeating: 0, count: heads * headDim)
                let first = local ? max(0, pos - window + 1) : 0
                for hd in 0..<heads {
                    let kv = hd / group
                    var scores: [Double] = []
                    for t in first...pos {
                        var s = 0.0
                        for i in 0..<headDim { s += q[hd * headDim + i] * keys[l][t][kv * headDim + i] }
                        scores.append(s / Double(headDim).squareRoot())
                    }
                    let m = scores.max()!
                    let e = scores.map { exp($0 - m) }
                    let z = e.reduce(0, +)
                    for (j, t) in (first...pos).enumerated() {
                        for i in 0..<headDim { attended[hd * headDim + i] += e[j] / z * values[l][t][kv * headDim + i] }
                    }
                }
                var a = matvec(w(p + "attn_output.weight"), attended)
                if arch == .gemma3 { a = rmsNorm(a, w(p + "post_attention_norm.weight")) }
                x = zip(x, a).map(+)
                let h2 = rmsNorm(x, w(p + "ffn_norm.weight"))
                let gate = matvec(w(p + "ffn_gate.weight"), h2), up = matvec(w(p + "ffn_up.weight"), h2)
                // Gemma's GELU as llama.cpp's CPU backend computes it: looked up by the F16
                // rounding of its input, the result rounded to F16 (0 below -10, x above 10).
                func halfRounded(_ v: Double) -> Double { Double(fp16ToFloat(floatToFp16(Float(v)))) }
                func gelu(_ g: Double) -> Double {
                    if g <= -10 { return 0 }
                    if g >= 10 { return g }
                    let h = halfRounded(g)
                    return halfRounded(0.5 * h * (1 + tanh(0.7978845608028654 * (h + 0.044715 * h * h * h))))
                }
                let act: [Double] = zip(gate, up).map { g, u in
                    arch == .gemma3 ? gelu(g) * u : g / (1 + exp(-g)) * u
                }
                var f = matvec(w(p + "ffn_down.weight"), act)
                if arch == .gemma3 { f = rmsNorm(f, w(p + "post_ffw_norm.weight")) }
                x = zip(x, f).map(+)
            }
            result.append(matvec(output, rmsNorm(x, w("output_norm.weight"))).map(Float.init))
        }
        return result
    }
}
