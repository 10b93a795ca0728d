import Foundation
import Testing
@testable import ModelFormats

/// Writes a file with our writer and reads it back with our reader.
func roundTrip(_ writer: GGUFWriter) throws -> GGUFFile {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("rt-\(UUID().uuidString).gguf").path
    try writer.write(to: path)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try GGUFFile(path: path)  // the mapping stays valid after unlink
}

@Suite struct GGUFRoundTripTests {
    @Test func everyMetadataTypeReadsBackIdentically() throws {
        var w = GGUFWriter()
        let values: [(String, GGUFValue)] = [
            ("u8", .uint8(250)), ("i8", .int8(-7)), ("u16", .uint16(65000)), ("i16", .int16(-32000)),
            ("u32", .uint32(4_000_000_000)), ("i32", .int32(-2_000_000_000)), ("f32", .float32(3.25)),
            ("bool.t", .bool(true)), ("bool.f", .bool(false)), ("str", .string("héllo ✓ 🦙")),
            ("empty.str", .string("")), ("u64", .uint64(UInt64.max)), ("i64", .int64(Int64.min)),
            ("f64", .float64(-1.5e300)),
            ("arr.i32", .array(.int32, [.int32(1), .int32(-2), .int32(3)])),
            ("arr.str", .array(.string, [.string("a"), .string(""), .string("ü")])),
            ("arr.empty", .array(.float32, [])),
            ("arr.nested", .array(.array, [.array(.uint8, [.uint8(1)]), .array(.bool, [.bool(true), .bool(false)])])),
        ]
        for (k, v) in values { w.set(k, v) }
        let f = try roundTrip(w)
        #expect(f.version == 3)
        #expect(f.metadata.map(\.key) == values.map(\.0))
        for (k, v) in values { #expect(f[k] == v, "metadata \(k)") }
    }

    @Test func tensorsAreZeroCopyViewsWithTheirShapeAndBytes() throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("general.alignment", .uint32(64))
        try w.addTensor("a", shape: [4, 2], floats: (0..<8).map(Float.init))
        let q8 = [UInt8](repeating: 7, count: 34 * 2)
        try w.addTensor("b", type: .q8_0, shape: [64], data: q8)
        let f = try roundTrip(w)
        #expect(f.alignment == 64)
        #expect(f.architecture == "llama")
        #expect(f.tensors.map(\.name) == ["a", "b"])
        let a = try #require(f.tensor(named: "a"))
        #expect(a.shape == [4, 2] && a.type == .f32 && a.byteCount == 32)
        #expect(a.offset % 64 == 0)
        let floats = f.data(of: a).withMemoryRebound(to: Float.self) { Array($0) }
        #expect(floats == (0..<8).map(Float.init))
        let b = try #require(f.tensor(named: "b"))
        #expect(b.type == .q8_0 && b.byteCount == 68 && Array(f.data(of: b)) == q8)
    }

    @Test func writerRejectsWrongByteCounts() {
        var w = GGUFWriter()
        #expect(throws: ModelFileError.self) { try w.addTensor("x", type: .q4_0, shape: [32], data: [1, 2, 3]) }
        #expect(throws: ModelFileError.self) { try w.addTensor("y", type: .q4_0, shape: [33], data: []) }
    }
}

@Test func typeNamesAreLlamaCppSpelling() {
    #expect(GGMLType.q4_K.description == "Q4_K")
    #expect(GGMLType.iq2_xxs.description == "IQ2_XXS")
    #expect(GGMLType.allCases.allSatisfy { !$0.description.hasPrefix("type") })
}
