import Foundation
import Testing
@testable import ModelFormats

func read(_ bytes: [UInt8]) throws(ModelFileError) -> GGUFFile {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).gguf").path
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try GGUFFile(path: path)
}

func smallModel() throws -> [UInt8] {
    var w = GGUFWriter()
    w.set("general.architecture", .string("llama"))
    w.set("tokenizer.ggml.tokens", .array(.string, [.string("a"), .string("b")]))
    try w.addTensor("t", shape: [8], floats: [Float](repeating: 1, count: 8))
    return w.encoded()
}

@Suite struct GGUFCorruptionTests {
    @Test func everyTruncationIsAnErrorNotACrash() throws {
        let good = try smallModel()
        _ = try read(good)
        for length in 0..<good.count {
            #expect(throws: ModelFileError.self, "truncated to \(length)") { _ = try read(Array(good[0..<length])) }
        }
    }

    @Test func notGGUFNamesWhatItFound() {
        do {
            _ = try read(Array("PK\u{3}\u{4}rest of a zip".utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error == .notGGUF(magic: "0x50 0x4B 0x3 0x4"))
            #expect(error.description.hasPrefix("Not a GGUF file"))
        }
    }

    @Test func absurdCountsAreRejected() throws {
        var bytes = try smallModel()
        // tensor count lives at offset 8
        withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { bytes.replaceSubrange(8..<16, with: $0) }
        #expect { _ = try read(bytes) } throws: { ($0 as? ModelFileError).map { if case .absurdCount = $0 { true } else { false } } ?? false }
        var bytes2 = try smallModel()
        // the first key's string length lives at offset 24
        withUnsafeBytes(of: UInt64.max.littleEndian) { bytes2.replaceSubrange(24..<32, with: $0) }
        #expect(throws: ModelFileError.self) { _ = try read(bytes2) }
    }

    @Test func aTensorPastTheEndIsRejected() throws {
        let good = try smallModel()
        let cut = Array(good.dropLast(4))
        do {
            _ = try read(cut)
            Issue.record("expected an error")
        } catch {
            guard case .tensorOutOfBounds(let name, _, _) = error else { Issue.record("got \(error)"); return }
            #expect(name == "t")
        }
    }

    @Test func unsupportedVersionAndEmptyFile() throws {
        var bytes = try smallModel()
        bytes[4] = 9
        #expect(throws: ModelFileError.unsupportedVersion(9)) { _ = try read(bytes) }
        #expect(throws: ModelFileError.self) { _ = try read([]) }
    }

    /// A seeded mutation fuzz that runs in every test run: random byte flips, truncations and
    /// splices of a valid file must always end in a value or a ModelFileError.
    @Test func seededMutationsNeverCrash() throws {
        let good = try smallModel()
        var rng = SplitMix64(seed: 0x5EED)
        var errors = 0
        for _ in 0..<3000 {
            var b = good
            for _ in 0..<Int(rng.next() % 6 + 1) {
                let i = Int(rng.next() % UInt64(b.count))
                switch rng.next() % 3 {
                case 0: b[i] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b[i] = [0, 0xFF, 0x7F, 0x80][Int(rng.next() % 4)]
                default: b = Array(b[0..<max(i, 1)])
                }
                if b.isEmpty { break }
            }
            do { _ = try read(b) } catch { errors += 1 }
        }
        #expect(errors > 0)
    }
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
