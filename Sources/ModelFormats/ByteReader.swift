/// A bounds-checked little-endian cursor over mapped bytes. Every read checks the remaining
/// length first, so a truncated or corrupt file becomes an error naming the offset, never a crash.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset: Int = 0

    var remaining: Int { bytes.count - offset }

    mutating func need(_ n: Int) throws(ModelFileError) {
        if n < 0 || n > remaining { throw .truncated(offset: offset, needed: n, fileSize: bytes.count) }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws(ModelFileError) -> T {
        try need(MemoryLayout<T>.size)
        let v = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return v
    }

    mutating func readFloat() throws(ModelFileError) -> Float { Float(bitPattern: try read(UInt32.self)) }
    mutating func readDouble() throws(ModelFileError) -> Double { Double(bitPattern: try read(UInt64.self)) }

    /// A count that must fit in what is left of the file, given each item takes at least `minSize` bytes.
    mutating func readCount(_ what: String, minSize: Int) throws(ModelFileError) -> Int {
        let at = offset
        let raw = try read(UInt64.self)
        guard raw <= UInt64(Int.max / max(minSize, 1)), Int(raw) * minSize <= remaining else {
            throw .absurdCount(what: what, count: raw, offset: at)
        }
        return Int(raw)
    }

    mutating func readString() throws(ModelFileError) -> String {
        let length = try readCount("a string length", minSize: 1)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
        offset += length
        return String(decoding: slice, as: UTF8.self)
    }
}
