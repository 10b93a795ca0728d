import Crypto
import Foundation

/// Appends bytes to a partial file while hashing them, so a file is hashed once, as it arrives.
/// Reopening an existing partial file re-hashes what is already there, which makes resuming exact.
final class HashingWriter {
    private let handle: FileHandle
    private var hasher = SHA256()
    private(set) var bytesWritten: Int64 = 0
    private let onProgress: (Int64) -> Void

    /// Opens `url` for appending; keeps its first `keep` bytes (truncating the rest).
    init(url: URL, keep: Int64, onProgress: @escaping (Int64) -> Void) throws {
        let fm = FileManager.default
        if !fm.fileExists(atPath: url.path) { fm.createFile(atPath: url.path, contents: nil) }
        handle = try FileHandle(forUpdating: url)
        self.onProgress = onProgress
        let existing = Int64(try handle.seekToEnd())
        let kept = min(keep, existing)
        try handle.truncate(atOffset: UInt64(kept))
        try handle.seek(toOffset: 0)
        var remaining = kept
        while remaining > 0 {
            let chunk = try handle.read(upToCount: Int(min(remaining, 8 << 20))) ?? Data()
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            remaining -= Int64(chunk.count)
        }
        bytesWritten = kept
        try handle.seek(toOffset: UInt64(kept))
    }

    func write<D: DataProtocol>(_ data: D) throws {
        let d = Data(data)
        try handle.write(contentsOf: d)
        hasher.update(data: d)
        bytesWritten += Int64(d.count)
        onProgress(bytesWritten)
    }

    /// Flushes to disk and returns the hex sha256 of everything written.
    func finish() throws -> String {
        try handle.synchronize()
        try handle.close()
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    func close() { try? handle.close() }
}

/// sha256 of a whole file, streamed.
func sha256(of url: URL) throws -> String {
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    var hasher = SHA256()
    while let chunk = try handle.read(upToCount: 8 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
}
