import Foundation
import Testing
@testable import Kernels

/// A lone decode row (one query row in its step) over an F16 cache is split as llama.cpp's flash
/// attention splits it: its cache view (used cells padded to 256) in one chunk per thread once
/// the view reaches 512 cells, the chunks folded in order. So, as in llama.cpp, thread counts give
/// the same bits below 256 positions and may differ from there. Bit-identity with llama.cpp itself
/// was measured against its AVX2 build (decode after 300- to 700-token prompts, 1 and 2 threads).
@Suite struct DecodeSplitTests {
    @Test func viewIsTheUsedCellsPaddedTo256() {
        #expect(llamaCppDecodeView(position: 0, window: nil) == 256)
        #expect(llamaCppDecodeView(position: 255, window: nil) == 256)
        #expect(llamaCppDecodeView(position: 256, window: nil) == 512)
        #expect(llamaCppDecodeView(position: 1000, window: nil) == 1024)
        // A sliding-window layer's cache holds window + 512 cells (padded).
        #expect(llamaCppDecodeView(position: 5000, window: 512) == 1024)
        #expect(llamaCppDecodeView(position: 5000, window: 100) == 768)
    }

    /// A sliding-window layer's keys live in a ring of window + 512 cells (rounded up to 256):
    /// past it a span is visited in cell order, the current lap first.
    @Test func ringOrderOfASlidingWindow() {
        #expect(llamaCppRingCells(window: 512) == 1024 && llamaCppRingCells(window: 20) == 768)
        #expect(llamaCppKeyRuns(0, 700, window: nil) == (0..<700, 700..<700))
        #expect(llamaCppKeyRuns(489, 1000, window: 512) == (489..<1000, 1000..<1000))
        #expect(llamaCppKeyRuns(519, 1031, window: 512) == (1024..<1031, 519..<1024))
        #expect(llamaCppKeyRuns(1537, 2049, window: 512) == (2048..<2049, 1537..<2048))
        // Cells of a decode chunk to positions: position 1030 sees 519...1030; cells 0..<512 hold
        // 1024...1030 (and unseen ones), cells 512..<1024 hold 512...1023.
        #expect(llamaCppCellRun(cells: 0..<512, position: 1030, window: 512) == 1024..<1031)
        #expect(llamaCppCellRun(cells: 512..<1024, position: 1030, window: 512) == 519..<1024)
        #expect(llamaCppCellRun(cells: 256..<512, position: 1030, window: 512).isEmpty)
        #expect(llamaCppCellRun(cells: 0..<512, position: 700, window: 512) == 189..<512)
        #expect(llamaCppCellRun(cells: 256..<512, position: 300, window: nil) == 256..<301)
    }

    @Test(arguments: [(255, false), (256, true), (700, true)])
    func threadsChangeTheBitsOnlyFrom512Cells(position: Int, differs: Bool) {
        let heads = 14, kvHeads = 2, dim = 64
        let shape = AttentionTilingTests.Shape(heads: heads, kvHeads: kvHeads, headDim: dim, valueDim: dim, batch: 1,
                                               firstPosition: position, window: nil)
        var rng = SplitMix64(seed: 6000 + UInt64(position))
        let (q, k16, v16) = AttentionTilingTests.inputsF16(shape, rng: &rng)
        func run(threads: Int) -> [Float] { AttentionTilingTests.attend(shape, q, k16, v16, ThreadPool(threads: threads), stepRows: 1) }
        let one = run(threads: 1), two = run(threads: 2)
        #expect((one.map(\.bitPattern) != two.map(\.bitPattern)) == differs)
        // Either way it is attention: within F16 accumulation of the exact result.
        for h in 0..<heads {
            let kv = h / (heads / kvHeads)
            let scores = (0...position).map { t in
                (0..<dim).reduce(0.0) { $0 + Double(q[h * dim + $1]) * Double(fp16ToFloat(k16[(t * kvHeads + kv) * dim + $1])) } * 0.125
            }
            let m = scores.max()!
            let w = scores.map { exp($0 - m) }, total = w.reduce(0, +)
            for d in 0..<dim {
                let exact = zip(w, 0...position).reduce(0.0) { $0 + $1.0 * Double(fp16ToFloat(v16[($1.1 * kvHeads + kv) * dim + d])) } / total
                #expect(abs(Double(two[h * dim + d]) - exact) < 5e-3, "head \(h) lane \(d)")
            }
        }
    }
}
