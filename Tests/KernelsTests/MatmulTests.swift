import Testing
import Kernels

@Suite struct MatmulTests {
    static let pool1 = ThreadPool(threads: 1)
    static let pool2 = ThreadPool(threads: 2)
    static let pool3 = ThreadPool(threads: 3)

    @Test(arguments: weightFormats)
    func matmulMatchesReference(_ f: QuantFormat) {
        var rng = SplitMix64(seed: 4242 ^ UInt64(f.rawValue))
        let cols = 512, rows = 45
        let wb = randomBlocks(f, blocks: rows * cols / f.blockSize, rng: &rng)
        let wRef = refDequantize(f, wb, count: rows * cols)
        for batch in [1, 3, 37] {
            let x = randomFloats(batch * cols, rng: &rng)
            var y1 = [Float](repeating: .nan, count: batch * rows)
            var y2 = y1, y3 = y1
            wb.withUnsafeBytes { raw in
                let w = WeightMatrix(format: f, rows: rows, cols: cols, base: raw.baseAddress!)
                matmul(w, x, &y1, batch: batch, pool: Self.pool1)
                matmul(w, x, &y2, batch: batch, pool: Self.pool2)
                matmul(w, x, &y3, batch: batch, pool: Self.pool3)
            }
            #expect(y1 == y2, "\(f) batch \(batch): 1 vs 2 threads differ")
            #expect(y1 == y3, "\(f) batch \(batch): 1 vs 3 threads differ")
            // Against dequantize-then-double-dot with the same activation quantization.
            var worst = 0.0
            for b in 0..<batch {
                let xs = Array(x[(b * cols)..<((b + 1) * cols)])
                let xq: [Double]
                if let act = f.activationFormat {
                    xq = refDequantize(act, refQuantize(act, xs), count: cols)
                } else {
                    xq = xs.map(Double.init)
                }
                for r in 0..<rows {
                    var s = 0.0, a = 0.0
                    for c in 0..<cols {
                        s += wRef[r * cols + c] * xq[c]
                        a += abs(wRef[r * cols + c] * xq[c])
                    }
                    let tol = (f == .q4_1 || f == .q5_1 ? 1e-3 : 3e-6) * a + 1e-6
                    let err = abs(Double(y1[b * rows + r]) - s)
                    if err > tol { worst = max(worst, err / tol) }
                }
            }
            #expect(worst == 0, "\(f) batch \(batch): error \(worst)x tolerance")
        }
    }

    /// Batched results equal one-at-a-time results bit for bit (the GEMM kernels keep each
    /// column's float operation order), for batch sizes around the 4-column kernel width; the
    /// rows llama.cpp's AVX2 build multiplies in another order within a batch (`batchOrderRows`:
    /// Q4_K in groups of four, Q2_K/Q3_K/Q5_K/Q6_K from eight rows) equal that order's single dot product, and
    /// differ from the lone-row result somewhere (the orders are really distinct).
    @Test(arguments: weightFormats)
    func batchedEqualsSingle(_ f: QuantFormat) {
        var rng = SplitMix64(seed: 777 ^ UInt64(f.rawValue))
        let cols = f.blockSize == 256 ? 768 : 800, rows = 13  // 800: odd block count
        let wb = randomBlocks(f, blocks: rows * cols / f.blockSize, rng: &rng)
        for batch in [2, 4, 5, 9, 40] {
            let x = randomFloats(batch * cols, rng: &rng)
            var yb = [Float](repeating: .nan, count: batch * rows)
            var ys = yb
            wb.withUnsafeBytes { raw in
                let w = WeightMatrix(format: f, rows: rows, cols: cols, base: raw.baseAddress!)
                matmul(w, x, &yb, batch: batch, pool: Self.pool2)
                x.withUnsafeBufferPointer { xp in
                    ys.withUnsafeMutableBufferPointer { yp in
                        for b in 0..<batch {
                            var one = [Float](repeating: 0, count: rows)
                            matmul(w, xp.baseAddress! + b * cols, &one, batch: 1, pool: Self.pool1)
                            for r in 0..<rows { yp[b * rows + r] = one[r] }
                        }
                    }
                }
            }
            let split = batchOrderRows(f, rows: rows, batch: batch)
            #expect(Array(yb[(split * rows)...]) == Array(ys[(split * rows)...]), "\(f) batch \(batch): rows past \(split)")
            if split > 0 {
                var want = [Float](repeating: 0, count: split * rows)
                let act = f.activationFormat!
                var qa = [UInt8](repeating: 0, count: act.rowBytes(cols))
                wb.withUnsafeBytes { raw in
                    let w = WeightMatrix(format: f, rows: rows, cols: cols, base: raw.baseAddress!)
                    x.withUnsafeBufferPointer { xp in
                        for b in 0..<split {
                            qa.withUnsafeMutableBytes { q in quantizeActivations(act, xp.baseAddress! + b * cols, q.baseAddress!, count: cols) }
                            qa.withUnsafeBytes { q in
                                for r in 0..<rows { want[b * rows + r] = batchVecDot(f, count: cols, w.row(r), q.baseAddress!, row: b, batch: batch, rows: rows) }
                            }
                        }
                    }
                }
                #expect(Array(yb[..<(split * rows)]) == want, "\(f) batch \(batch): batch-order rows")
                #expect(Array(yb[..<(split * rows)]) != Array(ys[..<(split * rows)]), "\(f) batch \(batch): batch order equals the lone-row order")
            }
        }
    }

    @Test func dequantizeWeightRow() {
        var rng = SplitMix64(seed: 5)
        let f = QuantFormat.q4_K, cols = 512, rows = 3
        let wb = randomBlocks(f, blocks: rows * cols / 256, rng: &rng)
        var out = [Float](repeating: 0, count: cols)
        var direct = out
        wb.withUnsafeBytes { raw in
            let w = WeightMatrix(format: f, rows: rows, cols: cols, base: raw.baseAddress!)
            w.dequantizeRow(2, into: &out)
            dequantizeRow(f, raw.baseAddress! + 2 * f.rowBytes(cols), &direct, count: cols)
        }
        #expect(out == direct)
    }
}

@Suite struct ThreadPoolTests {
    @Test(arguments: [1, 2, 4])
    func coversEveryIndexOnce(_ threads: Int) {
        let pool = ThreadPool(threads: threads)
        #expect(pool.threads == threads)
        for count in [0, 1, 2, 7, 64, 1000, 4097] {
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
            hits.initialize(repeating: 0, count: max(count, 1))
            defer { hits.deallocate() }
            for _ in 0..<20 {
                pool.parallelFor(count) { s, e in
                    for i in s..<e { hits[i] += 1 }
                }
            }
            for i in 0..<count { #expect(hits[i] == 20, "threads \(threads) count \(count) index \(i)") }
        }
    }

    @Test func minChunkKeepsGroupsTogether() {
        let pool = ThreadPool(threads: 2)
        let starts = UnsafeMutablePointer<Int>.allocate(capacity: 1000)
        starts.initialize(repeating: 0, count: 1000)
        defer { starts.deallocate() }
        pool.parallelFor(1001, minChunk: 8) { s, e in
            starts[s / 8] = 1
            if e != 1001 { precondition((e - s) % 8 == 0) }
            precondition(s % 8 == 0)
        }
        #expect(starts[0] == 1)
    }

    @Test func threadIndexIsInRange() {
        let pool = ThreadPool(threads: 3)
        let seen = UnsafeMutablePointer<Int>.allocate(capacity: 3)
        seen.initialize(repeating: 0, count: 3)
        defer { seen.deallocate() }
        for _ in 0..<50 {
            pool.parallelForWithThreadIndex(300) { s, e, t in
                precondition(t >= 0 && t < 3)
                _ = s; _ = e
            }
        }
        #expect(true)
    }

    @Test func manyQuickCallsAndIdleParking() {
        let pool = ThreadPool(threads: 2)
        let acc = UnsafeMutablePointer<Int>.allocate(capacity: 64)
        acc.initialize(repeating: 0, count: 64)
        defer { acc.deallocate() }
        for round in 0..<3000 {
            pool.parallelFor(64) { s, e in for i in s..<e { acc[i] += 1 } }
            if round % 1000 == 999 { usleep(30_000) }  // let workers park, then wake them
        }
        for i in 0..<64 { #expect(acc[i] == 3000) }
    }

    @Test func oversubscribedStress() {
        // More threads than cores: workers get preempted mid-job; every index must still run once.
        let pool = ThreadPool(threads: 5)
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: 997)
        hits.initialize(repeating: 0, count: 997)
        defer { hits.deallocate() }
        var expected = [Int](repeating: 0, count: 997)
        for round in 0..<4000 {
            let count = 1 + (round * 7919) % 997
            pool.parallelFor(count, minChunk: 1 + round % 5) { s, e in for i in s..<e { hits[i] += 1 } }
            for i in 0..<count { expected[i] += 1 }
        }
        for i in 0..<997 { #expect(hits[i] == expected[i], "index \(i)") }
    }

    @Test func concurrentCallersSerialize() async {
        let pool = ThreadPool(threads: 2)
        await withTaskGroup(of: Bool.self) { group in
            for t in 0..<4 {
                group.addTask {
                    let n = 500 + t
                    let buf = UnsafeMutablePointer<Int>.allocate(capacity: n)
                    buf.initialize(repeating: 0, count: n)
                    defer { buf.deallocate() }
                    for _ in 0..<200 { pool.parallelFor(n) { s, e in for i in s..<e { buf[i] += 1 } } }
                    return (0..<n).allSatisfy { buf[$0] == 200 }
                }
            }
            for await ok in group { #expect(ok) }
        }
    }

    @Test func poolDeinitJoinsWorkers() {
        for _ in 0..<20 {
            let pool = ThreadPool(threads: 3)
            pool.parallelFor(10) { _, _ in }
        }
        #expect(ThreadPool.availableProcessors >= 1)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
