import ArgumentParser
import Foundation
import Store

struct Prompts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Versioned prompt templates: list, show, save, diff, label.",
        discussion: """
            A prompt is a system text plus messages with {{variables}}, saved for a
            model with parameters. Every save makes a new, immutable version; labels
            (production, staging or any name) point at versions. A chat request to
            `studio serve` with "model": "prompt:NAME@LABEL" (or @VERSION, or just
            prompt:NAME for the latest) uses it, filling the variables from the
            request's "variables"; the version's parameters apply unless the request
            sets the same field.

            A prompt file is JSON:
              {
                "system": "You answer questions about {{product}} in one sentence.",
                "messages": [{"role": "user", "content": "{{question}}"}],
                "model": "qwen2.5-coder:0.5b",
                "parameters": {"temperature": 0.2, "max_tokens": 200},
                "note": "shorter answers"
              }

            Examples:
              studio prompts save support support.json --note "first try"
              studio prompts label support production 1
              studio prompts diff support 1 2
              studio prompts show support --label production
            """,
        subcommands: [List.self, Show.self, Save.self, Diff.self, Label.self])
}

extension Prompts {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List prompts with their latest version and labels.")

        func run() async throws {
            try await reportingErrors {
                let all = try openStudioStore().prompts.list()
                guard !all.isEmpty else { return print("No prompts yet: save one with `studio prompts save NAME FILE`.") }
                print("NAME\tLATEST\tLABELS")
                for p in all {
                    let labels = p.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                    print("\(p.name)\tv\(p.latestVersion)\t\(labels)")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one version of a prompt (the latest by default).")

        @Argument(help: "The prompt's name.")
        var name: String

        @Option(help: "A version number.")
        var version: Int?

        @Option(help: "A label, e.g. production.")
        var label: String?

        func run() async throws {
            try await reportingErrors {
                let selector: PromptReference.Selector = version.map { .version($0) } ?? label.map { .label($0) } ?? .latest
                let v = try openStudioStore().prompts.version(named: name, selector)
                print("\(v.name) v\(v.version)  model: \(v.draft.model ?? "-")  parameters: \(v.parametersText)")
                if let note = v.draft.note { print("note: \(note)") }
                if !v.variables.isEmpty { print("variables: \(v.variables.joined(separator: ", "))") }
                print("")
                print(v.text)
            }
        }
    }

    struct Save: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Save a new version of a prompt from a JSON file ('-' reads stdin).")

        @Argument(help: "The prompt's name (letters, digits, '.', '_', '-').")
        var name: String

        @Argument(help: "The JSON file: {\"system\", \"messages\", \"model\", \"parameters\", \"note\"} (see `studio prompts --help`).")
        var file: String

        @Option(help: "The model this version is for (overrides the file's).")
        var model: String?

        @Option(help: "A note about what changed (overrides the file's).")
        var note: String?

        @Option(help: "Point this label at the new version too.")
        var label: String?

        func run() async throws {
            try await reportingErrors {
                let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
                var draft = try PromptDraft(jsonText: String(decoding: data, as: UTF8.self))
                if let model { draft.model = model }
                if let note { draft.note = note }
                let store = try openStudioStore()
                let v = try store.prompts.save(name: name, draft)
                if let label { try store.prompts.setLabel(label, name: name, version: v.version) }
                print("saved \(v.name) v\(v.version)" + (label.map { " (\($0))" } ?? ""))
            }
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Line diff between two versions of a prompt.")

        @Argument(help: "The prompt's name.")
        var name: String

        @Argument(help: "The older version.")
        var from: Int

        @Argument(help: "The newer version.")
        var to: Int

        func run() async throws {
            try await reportingErrors {
                let prompts = try openStudioStore().prompts
                let a = try prompts.version(named: name, .version(from)), b = try prompts.version(named: name, .version(to))
                print("--- \(name) v\(from)\n+++ \(name) v\(to)")
                for line in LineDiff.diff(a.text, b.text) { print(line.op.rawValue + line.text) }
            }
        }
    }

    struct Label: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Point a label (production, staging, …) at a version.")

        @Argument(help: "The prompt's name.")
        var name: String

        @Argument(help: "The label.")
        var label: String

        @Argument(help: "The version it points at.")
        var version: Int

        func run() async throws {
            try await reportingErrors {
                try openStudioStore().prompts.setLabel(label, name: name, version: version)
                print("\(name)@\(label) -> v\(version)")
            }
        }
    }
}
