import ChatTemplates
import Foundation
import XCTest

/// The public surface: TemplateValue construction (ordered JSON), the ChatML fallback.
final class APITests: XCTestCase {
    func testOrderedJSONParserKeepsKeyOrder() throws {
        let v = try TemplateValue(jsonString: #"{"z": 1, "a": [true, null, 2.5, -3, 1e2], "m": {"y": "\u00e9\ud83d\ude42\n", "b": {}}}"#)
        guard case .object(let o) = v else { return XCTFail("not an object") }
        XCTAssertEqual(o.keys, ["z", "a", "m"])
        XCTAssertEqual(o["a"], .array([.bool(true), .null, .double(2.5), .int(-3), .double(100)]))
        XCTAssertEqual(v.jsonString, #"{"z": 1, "a": [true, null, 2.5, -3, 100.0], "m": {"y": "é🙂\n", "b": {}}}"#)
        let t = try ChatTemplate("{{ m|tojson }}|{% for k in m %}{{ k }}{% endfor %}")
        guard case .object(let ctx) = v else { return }
        var context: [String: TemplateValue] = [:]
        for (k, val) in ctx.pairs { context[k] = val }
        XCTAssertEqual(try t.render(context), #"{"y": "é🙂\n", "b": {}}|yb"#)
    }

    func testJSONParserRejectsBadInput() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"\\x\"", "01x", "[1] 2"] {
            XCTAssertThrowsError(try TemplateValue(jsonString: bad), bad)
        }
        let deep = String(repeating: "[", count: 10000)
        XCTAssertThrowsError(try TemplateValue(jsonString: deep))
    }

    func testLiteralsAndFoundationValues() throws {
        let msg: TemplateValue = ["role": "user", "content": "hi", "n": 1, "x": 1.0, "ok": true, "none": nil]
        let t = try ChatTemplate("{% for k, v in m.items() %}{{ k }}={{ v }};{% endfor %}")
        XCTAssertEqual(try t.render(["m": msg]), "role=user;content=hi;n=1;x=1.0;ok=True;none=None;")

        let data = Data(#"{"b": [1, 2.5, true, false, null, "s"]}"#.utf8)
        let any = try JSONSerialization.jsonObject(with: data)
        let v = TemplateValue(any: any)
        XCTAssertEqual(v, ["b": [1, 2.5, true, false, nil, "s"]])
        XCTAssertEqual(try TemplateValue(jsonData: data), v)
    }

    func testChatMLDefault() throws {
        let messages: TemplateValue = [
            ["role": "system", "content": "Be brief."],
            ["role": "user", "content": "Hi"],
        ]
        let out = try ChatTemplate.chatMLDefault.render(["messages": messages, "add_generation_prompt": true])
        XCTAssertEqual(out, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(ChatTemplate.chatMLDefault.source, ChatTemplate.chatMLSource)
        XCTAssertEqual(try ChatTemplate.forModel(nil).source, ChatTemplate.chatMLSource)
        XCTAssertEqual(try ChatTemplate.forModel("").source, ChatTemplate.chatMLSource)
        XCTAssertEqual(try ChatTemplate.forModel("{{ 1 }}").render([:]), "1")
    }

    func testGemmaTurnsDefault() throws {
        let template = try ChatTemplate(ChatTemplate.gemmaTurnsSource)
        let messages: TemplateValue = [
            ["role": "system", "content": "Be brief."],
            ["role": "user", "content": " Hi "],
            ["role": "assistant", "content": "Hello."],
            ["role": "user", "content": "Colours?"],
        ]
        let out = try template.render(["messages": messages, "add_generation_prompt": true, "bos_token": "<bos>"])
        XCTAssertEqual(out, "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
            + "<start_of_turn>user\nColours?<end_of_turn>\n<start_of_turn>model\n")
        let noSystem = try template.render(["messages": [["role": "user", "content": "Hi"]], "add_generation_prompt": false, "bos_token": "<bos>"])
        XCTAssertEqual(noSystem, "<bos><start_of_turn>user\nHi<end_of_turn>\n")
        // An assistant turn without content (a tool call) renders empty instead of failing.
        let toolTurn: TemplateValue = [["role": "user", "content": "x"], ["role": "assistant", "content": .null]]
        XCTAssertEqual(try template.render(["messages": toolTurn, "bos_token": ""]),
                       "<start_of_turn>user\nx<end_of_turn>\n<start_of_turn>model\n<end_of_turn>\n")
        let gemmaVocabulary: Set<String> = ["<start_of_turn>", "<end_of_turn>"]
        XCTAssertEqual(ChatTemplate.defaultSource { gemmaVocabulary.contains($0) }, ChatTemplate.gemmaTurnsSource)
        XCTAssertEqual(ChatTemplate.defaultSource { $0 == "<start_of_turn>" }, ChatTemplate.chatMLSource)
        XCTAssertEqual(ChatTemplate.defaultSource { _ in false }, ChatTemplate.chatMLSource)
    }

    func testTemplateIsReusableAndSendable() async throws {
        let t = try ChatTemplate("{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}")
        let results = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<8 {
                group.addTask {
                    try t.render(["messages": .array(Array(repeating: ["role": "user"], count: i))])
                }
            }
            var all: [String] = []
            for try await r in group { all.append(r) }
            return all.sorted()
        }
        XCTAssertEqual(results, (0..<8).map(String.init))
    }

    func testAppendMutatesListsSharedByName() throws {
        // Hugging Face's sandbox refuses list.append; we allow it (documented divergence).
        let t = try ChatTemplate("{% set a = [] %}{% set b = a %}{% set _ = a.append(1) %}{{ b }}|{{ a.append(2) }}|{{ a }}")
        XCTAssertEqual(try t.render([:]), "[1]|None|[1, 2]")
        XCTAssertThrowsError(try ChatTemplate("{% set d = {} %}{{ d.update({'a': 1}) }}").render([:])) { error in
            XCTAssertEqual((error as? TemplateError)?.kind, .security)
        }
    }
}
