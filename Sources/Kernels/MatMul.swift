/// A weight matrix stored row-major, zero-copy over (typically memory-mapped) bytes:
/// `rows` rows of `cols` elements, each row `format.rowBytes(cols)` bytes, rows contiguous.
public struct WeightMatrix: @unchecked Sendable {
    public let format: QuantFormat
    public let rows: Int
    public let cols: Int
    public let base: UnsafeRawPointer

    public init(format: QuantFormat, rows: Int, cols: Int, base: UnsafeRawPointer) {
        precondition(format.isWeightFormat, "WeightMatrix: \(format) is an activation-only format")
        precondition(cols % format.blockSize == 0, "WeightMatrix: cols \(cols) not a multiple of \(format) block size")
        self.format = format
        self.rows = rows
        self.cols = cols
        self.base = base
    }

    /// Bytes of one row.
    @inlinable public var rowBytes: Int { format.rowBytes(cols) }
    /// Total bytes of the matrix.
    @inlinable public var byteCount: Int { rowBytes * rows }
    /// Pointer to row `r`.
    @inlinable public func row(_ r: Int) -> UnsafeRawPointer { base + r * rowBytes }

    /// Dequantize row `r` into `dst` (`cols` floats), e.g. for an embedding lookup.
    public func dequantizeRow(_ r: Int, into dst: UnsafeMutablePointer<Float>) {
        Kernels.dequantizeRow(format, row(r), dst, count: cols)
    }
}

/// y[b*rows + r] = dot(W row r, x[b*cols ..< (b+1)*cols]) for b in 0..<batch. x, y are F32.
///
/// Scratch memory comes from `pool.workspace` (grown once, then reused; no allocation per call
/// once warmed up).
public func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, pool: ThreadPool) {
    if batch <= 0 || w.rows == 0 { return }
    let cols = w.cols, rows = w.rows
    let rowBytes = w.rowBytes
    let threads = pool.threads
    let scratchFloats = (cols + 15) & ~15
    pool.workspace.withBuffer(bytes: threads * scratchFloats * 4) { raw in
        let scratch = raw.assumingMemoryBound(to: Float.self)
        pool.parallelForWithThreadIndex(rows, minChunk: 4) { start, end, t in
            let buf = scratch + t * scratchFloats
            for r in start..<end {
                if w.format == .f32 {
                    let wr = (w.base + r * rowBytes).assumingMemoryBound(to: Float.self)
                    for b in 0..<batch { y[b * rows + r] = dotF32(wr, x + b * cols, count: cols) }
                } else {
                    dequantizeRow(w.format, w.base + r * rowBytes, buf, count: cols)
                    for b in 0..<batch { y[b * rows + r] = dotF32(buf, x + b * cols, count: cols) }
                }
            }
        }
    }
}
