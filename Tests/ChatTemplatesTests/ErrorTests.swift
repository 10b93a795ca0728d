import ChatTemplates
import XCTest

/// Errors carry a kind, the jinja2 message and the line/column of the failing construct, and no
/// input crashes the parser or the renderer.
final class ErrorTests: XCTestCase {
    func parseError(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> TemplateError? {
        do {
            _ = try ChatTemplate(source)
            XCTFail("expected a syntax error for \(source.debugDescription)", file: file, line: line)
        } catch let e as TemplateError {
            return e
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
        return nil
    }

    func assertSyntax(_ source: String, _ message: String, _ line: Int, _ column: Int,
                      file: StaticString = #filePath, sourceLine: UInt = #line) {
        guard let e = parseError(source, file: file, line: sourceLine) else { return }
        XCTAssertEqual(e.kind, .syntax, file: file, line: sourceLine)
        XCTAssertEqual(e.message, message, file: file, line: sourceLine)
        XCTAssertEqual(e.line, line, "line of \(source.debugDescription)", file: file, line: sourceLine)
        XCTAssertEqual(e.column, column, "column of \(source.debugDescription)", file: file, line: sourceLine)
    }

    func testSyntaxErrorsNameLineAndColumn() {
        assertSyntax("line one\n{% foo %}", "Encountered unknown tag 'foo'.", 2, 4)
        assertSyntax("a\nb {{ x | nosuch }}", "No filter named 'nosuch'.", 2, 10)
        assertSyntax("{% if x is nosuchtest %}{% endif %}", "No test named 'nosuchtest'.", 1, 9)
        assertSyntax("{{ 1 + }}", "unexpected 'end of print statement'", 1, 8)
        assertSyntax("{{ [1, 2 }}", "unexpected '}', expected ']'", 1, 10)
        assertSyntax("hello {# unclosed", "Missing end of comment tag", 1, 7)
        assertSyntax("x\n  {{ $ }}", "unexpected char '$' at 7", 2, 6)
        assertSyntax("{% endfor %}", "Encountered unknown tag 'endfor'.", 1, 4)
        assertSyntax("{% continue %}", "'continue' outside loop", 1, 4)
        assertSyntax(
            "{% for x in y %}\ntext",
            "Unexpected end of template. Jinja was looking for the following tags: 'endfor' or 'else'. "
                + "The innermost block that needs to be closed is 'for'.", 2, 5)
        assertSyntax(
            "{% if true %}{% else %}{% else %}{% endif %}",
            "Encountered unknown tag 'else'. Jinja was looking for the following tags: 'endif'. "
                + "The innermost block that needs to be closed is 'if'.", 1, 27)
        // `do` is not enabled in Hugging Face's environment
        assertSyntax("{% do x.append(1) %}", "Encountered unknown tag 'do'.", 1, 4)
    }

    func testDescriptionNamesPosition() {
        let e = parseError("ok\n  {% bogus %}")
        XCTAssertEqual(e?.description, "TemplateSyntaxError at line 2, column 6: Encountered unknown tag 'bogus'.")
    }

    func testUnknownFilterInUntakenBranchFailsOnlyWhenRun() throws {
        // jinja2 defers the check inside `if` bodies; we do the same.
        let t = try ChatTemplate("{% if flag %}{{ x | nosuch }}{% endif %}ok")
        XCTAssertEqual(try t.render(["flag": false]), "ok")
        XCTAssertThrowsError(try t.render(["flag": true])) { error in
            let e = error as? TemplateError
            XCTAssertEqual(e?.message, "No filter named 'nosuch'.")
            XCTAssertEqual(e?.line, 1)
        }
    }

    func testRaiseExceptionIsDistinguishable() throws {
        let t = try ChatTemplate("{% if messages[0].role != 'user' %}\n  {{ raise_exception('Roles must alternate') }}\n{% endif %}")
        XCTAssertThrowsError(try t.render(["messages": [["role": "assistant", "content": "x"]]])) { error in
            guard let e = error as? TemplateError else { return XCTFail("wrong error type") }
            XCTAssertEqual(e.kind, .raised)
            XCTAssertEqual(e.pythonName, "TemplateError")
            XCTAssertEqual(e.message, "Roles must alternate")
            XCTAssertEqual(e.line, 2)
            XCTAssertEqual(e.column, 6)
        }
        XCTAssertEqual(try t.render(["messages": [["role": "user", "content": "x"]]]), "")
    }

    func testRuntimeErrorPosition() throws {
        let t = try ChatTemplate("{% for m in messages %}\n{{ m.role + m.content }}\n{% endfor %}")
        XCTAssertThrowsError(try t.render(["messages": [["role": "user", "content": nil]]])) { error in
            guard let e = error as? TemplateError else { return XCTFail("wrong error type") }
            XCTAssertEqual(e.kind, .type)
            XCTAssertEqual(e.message, "can only concatenate str (not \"NoneType\") to str")
            XCTAssertEqual(e.line, 2)
            XCTAssertEqual(e.column, 11)
        }
    }

    func testRecursionAndSizeLimitsThrow() throws {
        let rec = try ChatTemplate("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}")
        XCTAssertThrowsError(try rec.render([:])) { error in
            XCTAssertEqual((error as? TemplateError)?.message, "maximum recursion depth exceeded")
        }
        XCTAssertThrowsError(try ChatTemplate("{{ range(1000000)|length }}").render([:])) { error in
            XCTAssertEqual((error as? TemplateError)?.kind, .overflow)
        }
        XCTAssertThrowsError(try ChatTemplate("{{ 'x' * 1000000000 }}").render([:]))
        XCTAssertThrowsError(try ChatTemplate("{{ 9223372036854775807 + 1 }}").render([:]))
        let deep = String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000)
        XCTAssertThrowsError(try ChatTemplate("{{ " + deep + " }}"))
        let nested = String(repeating: "{% if true %}", count: 3000) + String(repeating: "{% endif %}", count: 3000)
        _ = try? ChatTemplate(nested).render([:])
    }

    /// Random and mutated inputs must produce output or a TemplateError, never a crash.
    func testGarbageNeverCrashes() {
        var rng = SplitMix64(seed: 0x5EED)
        let alphabet = Array("{}%#-+()[]|.,:~'\"\\ \n\tabcdefxyz0123456789=<>!*/ifendforsetmacrocallrawloop".unicodeScalars)
        let seeds = [
            ChatTemplate.chatMLSource,
            "{%- for m in messages %}{{ m.role|upper ~ (m.content|default('x')) }}{% if loop.last %}!{% endif %}{% endfor %}",
            "{% set ns = namespace(a=[]) %}{% macro f(x, y=2) %}{{ caller(x) if caller else x }}{% endmacro %}{% call(v) f(1) %}{{ v }}{% endcall %}",
            "{% raw %}{{ x }}{% endraw %}{# c #}{{ 'a\\n' ~ [1, 2][::-1]|tojson(indent=2) }}",
        ]
        let context: [String: TemplateValue] = [
            "messages": [["role": "user", "content": "hi"], ["role": "assistant", "content": nil]],
            "add_generation_prompt": true,
        ]
        var outcomes = 0
        for i in 0..<4000 {
            var scalars: [Unicode.Scalar]
            if i % 2 == 0 {
                scalars = Array(seeds[i / 2 % seeds.count].unicodeScalars)
                for _ in 0..<(1 + Int(rng.next() % 4)) where !scalars.isEmpty {
                    let at = Int(rng.next() % UInt64(scalars.count))
                    switch rng.next() % 3 {
                    case 0: scalars.remove(at: at)
                    case 1: scalars.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                    default: scalars[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                    }
                }
            } else {
                scalars = (0..<Int(rng.next() % 60)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            }
            var text = String.UnicodeScalarView()
            text.append(contentsOf: scalars)
            do {
                _ = try ChatTemplate(String(text)).render(context)
                outcomes += 1
            } catch is TemplateError {
                outcomes += 1
            } catch {
                XCTFail("non-template error \(error) for \(String(text).debugDescription)")
            }
        }
        XCTAssertEqual(outcomes, 4000)
    }
}

/// Deterministic PRNG for the garbage test.
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
