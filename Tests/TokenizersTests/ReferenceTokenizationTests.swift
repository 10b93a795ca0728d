// Token ids against llama.cpp's llama-tokenize on the real model files
// (/work/shared/reference/tokenizer/*.json), and decode(encode(s)) == s.

import Foundation
import Inference
import ModelFormats
import Testing
import Tokenizers

struct ReferenceCase: Decodable {
    let text: String
    let ids: [Int32]
    let ids_parse_special: [Int32]

    /// The text llama-tokenize actually tokenized: it processes escapes in its prompt argument
    /// (common's string_process_escapes: backslash-n, -r, -t, -quote, -backslash, -xNN), so the ids of
    /// `printf("%d\\n", i)` hold a real newline.
    var tokenizedText: String {
        var out: [UInt8] = []
        let b = Array(text.utf8)
        var i = 0
        while i < b.count {
            if b[i] == 0x5C, i + 1 < b.count {
                switch b[i + 1] {
                case UInt8(ascii: "n"): out.append(0x0A); i += 2; continue
                case UInt8(ascii: "r"): out.append(0x0D); i += 2; continue
                case UInt8(ascii: "t"): out.append(0x09); i += 2; continue
                case UInt8(ascii: "'"), UInt8(ascii: "\""), 0x5C: out.append(b[i + 1]); i += 2; continue
                case UInt8(ascii: "x") where i + 3 < b.count:
                    if let v = UInt8(String(decoding: b[(i + 2)...(i + 3)], as: UTF8.self), radix: 16) {
                        out.append(v); i += 4; continue
                    }
                default: break
                }
            }
            out.append(b[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

struct ReferenceFile: Decodable {
    let model: String
    let cases: [ReferenceCase]
}

enum Fixtures {
    static var referenceDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["STUDIO_REFERENCE_DIR"] { return URL(fileURLWithPath: dir) }
        // Tests/TokenizersTests/<file> → ../../../shared/reference
        return URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/reference")
    }

    static var studioHome: String {
        ProcessInfo.processInfo.environment["STUDIO_HOME"] ?? (NSHomeDirectory() + "/.cache/studio")
    }

    static let aliases = ["qwen2.5-coder-0.5b": "qwen2.5-coder:0.5b", "smollm2-135m": "smollm2:135m", "gemma3-270m": "gemma3:270m"]

    /// The model's tokenizer, or a failed expectation telling how to get the model.
    static func tokenizer(_ name: String) throws -> Tokenizer? {
        let path = "\(studioHome)/models/\(name).gguf"
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("Model file \(path) is missing: run `studio pull \(aliases[name] ?? name)` first.")
            return nil
        }
        return try Tokenizer.load(from: GGUFFile(path: path))
    }

    static func reference(_ name: String) throws -> ReferenceFile {
        let url = referenceDirectory.appendingPathComponent("tokenizer/\(name).json")
        return try JSONDecoder().decode(ReferenceFile.self, from: Data(contentsOf: url))
    }
}

@Suite struct ReferenceTokenizationTests {
    @Test(arguments: ["qwen2.5-coder-0.5b", "smollm2-135m", "gemma3-270m"])
    func idsMatchLlamaCpp(model: String) throws {
        guard let tok = try Fixtures.tokenizer(model) else { return }
        let ref = try Fixtures.reference(model)
        #expect(ref.cases.count == 36)
        var plain = 0, special = 0
        for c in ref.cases {
            let ids = tok.encode(c.tokenizedText)
            let idsSpecial = tok.encode(c.tokenizedText, parseSpecial: true)
            if ids == c.ids { plain += 1 }
            if idsSpecial == c.ids_parse_special { special += 1 }
            #expect(ids == c.ids, "\(model) plain: \(c.text.debugDescription)")
            #expect(idsSpecial == c.ids_parse_special, "\(model) parse_special: \(c.text.debugDescription)")
        }
        print("\(model): ids \(plain)/\(ref.cases.count), ids_parse_special \(special)/\(ref.cases.count)")
    }

    @Test(arguments: ["qwen2.5-coder-0.5b", "smollm2-135m", "gemma3-270m"])
    func decodeInvertsEncode(model: String) throws {
        guard let tok = try Fixtures.tokenizer(model) else { return }
        for c in try Fixtures.reference(model).cases {
            #expect(tok.decode(tok.encode(c.text)) == c.text, "\(model): \(c.text.debugDescription)")
            #expect(tok.decode(c.ids) == c.tokenizedText, "\(model) reference ids: \(c.text.debugDescription)")
            // With special tokens parsed, they decode back to their text when rendered.
            #expect(tok.decode(tok.encode(c.text, parseSpecial: true), renderSpecial: true) == c.text,
                    "\(model) special: \(c.text.debugDescription)")
            #expect(tok.decode(c.ids_parse_special, renderSpecial: true) == c.tokenizedText,
                    "\(model) reference special ids: \(c.text.debugDescription)")
            // Streaming, one token at a time, gives the same text.
            var stream = tok.streamingDecoder()
            var streamed = ""
            for id in c.ids { streamed += stream.append(id) }
            streamed += stream.flush()
            #expect(streamed == tok.decode(c.ids), "\(model) streaming: \(c.text.debugDescription)")
        }
    }

    @Test func endOfGenerationTokens() throws {
        if let qwen = try Fixtures.tokenizer("qwen2.5-coder-0.5b") {
            let imEnd = try #require(qwen.tokenID(forText: "<|im_end|>"))
            let endOfText = try #require(qwen.tokenID(forText: "<|endoftext|>"))
            #expect(qwen.eosTokenID == imEnd)
            #expect(qwen.isEndOfGeneration(imEnd) && qwen.isEndOfGeneration(endOfText))
            #expect(!qwen.isEndOfGeneration(try #require(qwen.tokenID(forText: "<|im_start|>"))))
            #expect(!qwen.addBOS)
        }
        if let gemma = try Fixtures.tokenizer("gemma3-270m") {
            let endOfTurn = try #require(gemma.tokenID(forText: "<end_of_turn>"))
            #expect(gemma.eotTokenID == endOfTurn)
            #expect(gemma.isEndOfGeneration(endOfTurn) && gemma.isEndOfGeneration(1))
            #expect(!gemma.isEndOfGeneration(2))
            #expect(gemma.addBOS && gemma.bosTokenID == 2 && !gemma.addSpacePrefix)
        }
        if let smol = try Fixtures.tokenizer("smollm2-135m") {
            #expect(smol.isEndOfGeneration(2) && smol.isEndOfGeneration(0))
            #expect(!smol.isEndOfGeneration(1))
        }
    }

    @Test func tokenBytesAndDisplayText() throws {
        guard let qwen = try Fixtures.tokenizer("qwen2.5-coder-0.5b") else { return }
        let ids = qwen.encode(" 🙂")
        #expect(ids.flatMap { qwen.tokenBytes($0) } == Array(" 🙂".utf8))
        let world = qwen.encode(" world")
        #expect(world.count == 1 && qwen.displayText(world[0]) == " world" && qwen.tokenText(world[0]) == "Ġworld")
        let imStart = try #require(qwen.tokenID(forText: "<|im_start|>"))
        #expect(qwen.tokenBytes(imStart).isEmpty)
        #expect(qwen.tokenBytes(imStart, renderSpecial: true) == Array("<|im_start|>".utf8))
        #expect(qwen.displayText(imStart) == "<|im_start|>")
        #expect(qwen.tokenType(imStart) == .control)
    }
}
