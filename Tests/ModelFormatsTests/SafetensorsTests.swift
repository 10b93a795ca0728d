import Foundation
import Testing
@testable import ModelFormats

@Suite struct SafetensorsTests {
    func file(header: String, data: [UInt8]) -> String {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes += Array(header.utf8) + data
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString).safetensors").path
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    @Test func readsF32F16AndBF16() throws {
        var data: [UInt8] = []
        for f: Float in [1, -2] { withUnsafeBytes(of: f) { data += $0 } }
        for h: Float16 in [0.5, 3] { withUnsafeBytes(of: h.bitPattern) { data += $0 } }
        for f: Float in [1.5, -4] { withUnsafeBytes(of: UInt16(f.bitPattern >> 16)) { data += $0 } }
        let header = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]},"c":{"dtype":"BF16","shape":[2],"data_offsets":[12,16]}}"#
        let path = file(header: header, data: data)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let st = try SafetensorsFile(path: path)
        #expect(st.metadata["format"] == "pt")
        #expect(try st.floats("a") == [1, -2])
        #expect(try st.floats("b") == [0.5, 3])
        #expect(try st.floats("c") == [1.5, -4])
        #expect(st.tensor(named: "b")?.shape == [1, 2])
    }

    @Test func badFilesGiveErrors() throws {
        let short = file(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: [0, 0, 0, 0])
        let wrongSize = file(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        let notJSON = file(header: "nope", data: [])
        defer { for p in [short, wrongSize, notJSON] { try? FileManager.default.removeItem(atPath: p) } }
        #expect(throws: ModelFileError.self) { _ = try SafetensorsFile(path: short) }
        #expect(throws: ModelFileError.self) { _ = try SafetensorsFile(path: wrongSize) }
        #expect(throws: ModelFileError.self) { _ = try SafetensorsFile(path: notJSON) }
    }
}
