import Testing
@testable import Kernels

@Test func smokeMatmulF32() {
    let rows = 37, cols = 64
    var w = [Float](repeating: 0, count: rows * cols)
    for i in 0..<w.count { w[i] = Float(i % 7) - 3 }
    let x = (0..<(2 * cols)).map { Float($0 % 5) - 2 }
    var y = [Float](repeating: 0, count: 2 * rows)
    let pool = ThreadPool(threads: 2)
    w.withUnsafeBytes { wb in
        let m = WeightMatrix(format: .f32, rows: rows, cols: cols, base: wb.baseAddress!)
        matmul(m, x, &y, batch: 2, pool: pool)
    }
    for b in 0..<2 {
        for r in 0..<rows {
            var s: Float = 0
            for c in 0..<cols { s += w[r * cols + c] * x[b * cols + c] }
            #expect(y[b * rows + r] == s)
        }
    }
}
