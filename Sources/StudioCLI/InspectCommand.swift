import ArgumentParser
import Foundation
import ModelFormats
import ModelHub

struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model's metadata, tensor count, quant mix, parameters and context length.",
        discussion: """
            Examples:
              studio inspect qwen2.5-coder:0.5b
              studio inspect qwen2.5-coder:0.5b --json
              studio inspect ./model.gguf --metadata     also print every metadata key
            """)

    @Argument(help: "An installed alias or name, or a path to a GGUF file.")
    var model: String

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "Print every metadata key (long arrays are summarised).")
    var metadata = false

    func run() async throws {
        try await reportingErrors {
            let url = try ModelStore().resolve(model)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw ValidationError("\(model) is a safetensors bundle at \(url.path); inspect reads GGUF files.")
            }
            let file = try GGUFFile(path: url.path)
            let s = GGUFSummary(file)
            if json {
                var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(s)) as! [String: Any]
                if metadata { object["metadata"] = Dictionary(uniqueKeysWithValues: file.metadata.map { ($0.key, jsonValue($0.value)) }) }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("model         \(s.name ?? "-")")
            print("path          \(s.path)")
            print("size          \(Terminal.bytes(Int64(s.fileSize))) (\(s.fileSize) bytes), GGUF v\(s.version)")
            print("architecture  \(s.architecture ?? "-")")
            print("parameters    \(Terminal.count(s.parameterCount)) (\(s.parameterCount))")
            print("blocks        \(s.blockCount.map(String.init) ?? "-")")
            print("embedding     \(s.embeddingLength.map(String.init) ?? "-")")
            print("heads         \(s.headCount.map(String.init) ?? "-") (kv \(s.headCountKV.map(String.init) ?? "-"))")
            print("context       \(s.contextLength.map(String.init) ?? "-")")
            print("vocabulary    \(s.vocabularySize.map(String.init) ?? "-")")
            print("file type     \(s.fileType ?? "-")")
            print("chat template \(s.hasChatTemplate ? "yes" : "no")")
            print("tensors       \(s.tensorCount)")
            for q in s.quantMix {
                print("  \(q.type.padding(toLength: 6, withPad: " ", startingAt: 0)) \(String(q.tensors).leftPad(4)) tensors  \(Terminal.bytes(Int64(q.bytes)).leftPad(9))")
            }
            if metadata {
                print("metadata")
                for (k, v) in file.metadata { print("  \(k) = \(summarise(v))") }
            }
        }
    }

    func summarise(_ v: GGUFValue) -> String {
        if case let .array(t, items) = v {
            let head = items.prefix(5).map(\.description).joined(separator: ", ")
            return "[\(t) × \(items.count)] [\(head)\(items.count > 5 ? ", …" : "")]"
        }
        if case let .string(s) = v, s.count > 200 { return "\"\(s.prefix(200))…\" (\(s.count) characters)" }
        return v.description
    }

    func jsonValue(_ v: GGUFValue) -> Any {
        switch v {
        case let .string(s): return s
        case let .bool(b): return b
        case let .float32(f): return Double(f)
        case let .float64(d): return d
        case let .array(_, items): return items.map(jsonValue)
        default: return v.intValue ?? 0
        }
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
