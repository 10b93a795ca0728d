import Testing
@testable import Models

/// A forward call runs as llama.cpp runs the same tokens: in steps of 512, each step's rows
/// choosing llama.cpp's kernels by the step's size (attention from 64 rows), and micro-batches
/// that keep the batched matmul kernels' per-row arithmetic.
@Suite struct LlamaCppStepTests {
    /// The micro-batch pieces of one sequence of `count` tokens, `space` rows at a time.
    func pieces(_ count: Int, space: Int = 64) -> [Int] {
        var result: [Int] = [], start = 0
        while start < count {
            let n = pieceLength(start: start, remaining: count - start, space: space)
            result.append(n)
            start += n
        }
        return result
    }

    @Test func piecesEndAtStepsAndKeepEightRowsAtTheEnd() {
        #expect(pieces(70) == [56, 14])
        #expect(pieces(66) == [56, 10])
        #expect(pieces(72) == [64, 8])
        #expect(pieces(600) == Array(repeating: 64, count: 8) + [64, 24])
        #expect(pieces(517) == Array(repeating: 64, count: 8) + [5])
        #expect(pieces(580) == Array(repeating: 64, count: 8) + [56, 12])
        #expect(pieces(12, space: 10) == [10, 2])
        #expect(pieceLength(start: 500, remaining: 100, space: 64) == 12)
    }

    /// 600 tokens in one call give the bits of 512 and then 88: llama.cpp's two steps.
    @Test(arguments: [TinyModel.Arch.llama, .gemma3])
    func oneCallEqualsItsSteps(arch: TinyModel.Arch) throws {
        var tiny = TinyModel(arch: arch)
        tiny.window = 300
        let model = try tiny.load()
        let tokens = (0..<600).map { ($0 * 7 + 3) % tiny.vocab }
        let whole = try model.forward(tokens: tokens, cache: TestCache(model.config, capacity: 600, element: .f16), logits: .lastRows(100))
        let cache = TestCache(model.config, capacity: 600, element: .f16)
        let first = try model.forward(tokens: Array(tokens[..<512]), cache: cache, logits: .lastRows(12))
        let second = try model.forward(tokens: Array(tokens[512...]), cache: cache, logits: .all)
        #expect((first + second).map(\.bitPattern) == whole.map(\.bitPattern))
    }

    /// From 64 rows in one step attention takes llama.cpp's tiled kernel: the 64th token's logits
    /// differ in their bits from feeding 63 tokens and then 1, and both stay close.
    @Test func aStepOf64RowsSwitchesAttention() throws {
        let model = try TinyModel(arch: .qwen2).load()
        let tokens = (0..<64).map { ($0 * 11 + 5) % 50 }
        let whole = try model.forward(tokens: tokens, cache: TestCache(model.config, capacity: 64, element: .f16))
        let cache = TestCache(model.config, capacity: 64, element: .f16)
        _ = try model.forward(tokens: Array(tokens[..<63]), cache: cache, logits: .none)
        let stepped = try model.forward(tokens: [tokens[63]], cache: cache)
        #expect(whole.map(\.bitPattern) != stepped.map(\.bitPattern))
        #expect(maxRelativeError(whole, stepped) < 1e-2)
    }
}
