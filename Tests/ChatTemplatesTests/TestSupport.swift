import ChatTemplates
import XCTest

/// The context every focused test renders with (plus the test's own keys).
let baseContextJSON = "{\"messages\": [{\"role\": \"system\", \"content\": \"sys\"}, {\"role\": \"user\", \"content\": \"Hello\"}, {\"role\": \"assistant\", \"content\": \"Hi there\", \"tool_calls\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": {\"x\": 1, \"y\": \"é\"}}}]}, {\"role\": \"tool\", \"content\": \"42\"}, {\"role\": \"user\", \"content\": \"  bye \\n\"}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"does f\", \"parameters\": {\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"integer\"}}, \"required\": [\"x\"]}}}], \"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"d\": {\"a\": 1, \"b\": [1, 2]}, \"n\": null, \"s\": \"Hello, World\", \"l\": [3, 1, 2], \"f\": 2.5}"

func context(_ extraJSON: String?) throws -> [String: TemplateValue] {
    var ctx: [String: TemplateValue] = [:]
    guard case .object(let base) = try TemplateValue(jsonString: baseContextJSON) else { return ctx }
    for (k, v) in base.pairs { ctx[k] = v }
    if let extraJSON, case .object(let extra) = try TemplateValue(jsonString: extraJSON) {
        for (k, v) in extra.pairs { ctx[k] = v }
    }
    return ctx
}

/// Renders `template` and compares with the output of Python's jinja2.
func expectRender(_ template: String, _ expected: String, context extra: String? = nil,
                  file: StaticString = #filePath, line: UInt = #line) throws {
    let t: ChatTemplate
    do {
        t = try ChatTemplate(template)
    } catch {
        XCTFail("parse failed for \(template.debugDescription): \(error)", file: file, line: line)
        return
    }
    do {
        let out = try t.render(try context(extra))
        XCTAssertEqual(out, expected, "template: \(template.debugDescription)", file: file, line: line)
    } catch {
        XCTFail("render failed for \(template.debugDescription): \(error)", file: file, line: line)
    }
}

/// Expects parsing or rendering to fail with the exception jinja2 raises (name and message).
func expectError(_ template: String, _ pythonName: String, _ message: String, context extra: String? = nil,
                 file: StaticString = #filePath, line: UInt = #line) {
    do {
        let out = try ChatTemplate(template).render(try context(extra))
        XCTFail("expected \(pythonName) for \(template.debugDescription), got \(out.debugDescription)", file: file, line: line)
    } catch let e as TemplateError {
        XCTAssertEqual(e.pythonName, pythonName, "template: \(template.debugDescription)", file: file, line: line)
        XCTAssertEqual(e.message, message, "template: \(template.debugDescription)", file: file, line: line)
        XCTAssertGreaterThan(e.line, 0, file: file, line: line)
        XCTAssertGreaterThan(e.column, 0, file: file, line: line)
    } catch {
        XCTFail("unexpected error type \(error)", file: file, line: line)
    }
}
