import ChatTemplates
import Foundation
import XCTest

/// Renders every model template in the shared reference folder against its recorded
/// conversations and compares byte for byte with Python's jinja2 (as run by transformers).
final class ReferenceFixtureTests: XCTestCase {
    static var referenceDirectory: URL {
        if let env = ProcessInfo.processInfo.environment["STUDIO_REFERENCE_DIR"], !env.isEmpty {
            let base = URL(fileURLWithPath: env)
            let nested = base.appendingPathComponent("chat_templates")
            return FileManager.default.fileExists(atPath: nested.path) ? nested : base
        }
        // /work/main/Tests/ChatTemplatesTests/X.swift -> /work/shared/reference/chat_templates
        // (walk up from this file, resolving symlinks, so a dev package that links the test
        // folder finds the same place)
        var dir = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("shared/reference/chat_templates")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("shared/reference/chat_templates")
    }

    func testAllReferenceFixtures() throws {
        let dir = Self.referenceDirectory
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertFalse(files.isEmpty, "no fixtures in \(dir.path)")
        var passed = 0, total = 0
        for file in files {
            let data = try Data(contentsOf: dir.appendingPathComponent(file))
            guard case .object(let root) = try TemplateValue(jsonData: data),
                  case .string(let source)? = root["template"],
                  case .array(let fixtures)? = root["fixtures"]
            else {
                XCTFail("\(file): unexpected fixture layout")
                continue
            }
            let template: ChatTemplate
            do {
                template = try ChatTemplate(source)
            } catch {
                XCTFail("\(file): template does not parse: \(error)")
                total += fixtures.count
                continue
            }
            for case .object(let fixture) in fixtures {
                total += 1
                var id = "?"
                if case .string(let s)? = fixture["id"] { id = s }
                var context: [String: TemplateValue] = [:]
                for (k, v) in fixture.pairs where !["id", "rendered", "error"].contains(k) { context[k] = v }
                let expectedError: String? = { if case .string(let e)? = fixture["error"] { return e }; return nil }()
                let expected: String? = { if case .string(let r)? = fixture["rendered"] { return r }; return nil }()
                do {
                    let out = try template.render(context)
                    if let expectedError {
                        XCTFail("\(file) \(id): expected error \(expectedError), got output")
                    } else if out == expected {
                        passed += 1
                    } else {
                        XCTFail("\(file) \(id): output differs\n--- got\n\(out.debugDescription)\n--- expected\n\((expected ?? "nil").debugDescription)")
                    }
                } catch let e as TemplateError {
                    if let expectedError {
                        let full = "\(e.pythonName): \(e.message)"
                        if expectedError == full || expectedError == e.message || expectedError.hasSuffix(": " + e.message) {
                            passed += 1
                        } else {
                            XCTFail("\(file) \(id): error differs: got \(full), expected \(expectedError)")
                        }
                    } else {
                        XCTFail("\(file) \(id): unexpected error \(e)")
                    }
                }
            }
        }
        print("reference fixtures: \(passed)/\(total) passed")
        XCTAssertEqual(passed, total)
    }
}
