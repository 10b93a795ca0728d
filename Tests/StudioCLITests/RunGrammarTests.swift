import Foundation
import Testing

/// `studio run --grammar` on a grammar that dead-ends after "Hello" (it then needs a character
/// from an empty class, which no token can give): the text so far is shown, but the run fails.
@Suite struct RunGrammarTests {
    static func grammarFile(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("run-grammar-\(UUID().uuidString).gbnf")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func aDeadEndExitsWithAnError() throws {
        _ = try StudioProcess.modelPath("smollm2-135m")
        let deadEnd = try Self.grammarFile(#"root ::= "Hello" [^\x00-\U0010FFFF]"#)
        let fine = try Self.grammarFile(#"root ::= "Hello""#)
        defer {
            try? FileManager.default.removeItem(at: deadEnd)
            try? FileManager.default.removeItem(at: fine)
        }
        let base = ["run", "smollm2:135m", "Say hello.", "--temperature", "0", "--max-tokens", "20"]

        let streamed = try StudioProcess.run(base + ["--grammar", deadEnd.path])
        #expect(streamed.status == 1)
        #expect(streamed.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "Hello")
        let message = streamed.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(message.hasPrefix("error: The output is incomplete: after "))
        #expect(message.hasSuffix("fits what the --grammar file requires next."))
        #expect(!message.contains("\n") && !message.contains("Fatal error"))

        let json = try StudioProcess.run(base + ["--grammar", deadEnd.path, "--json"])
        #expect(json.status == 1)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["finish_reason"] as? String == "grammar_dead_end")
        #expect(object?["text"] as? String == "Hello")
        #expect(json.stderr.contains("error: The output is incomplete"))

        let ok = try StudioProcess.run(base + ["--grammar", fine.path])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "Hello")
        #expect(ok.stderr.contains("finish: stop"))
    }
}
