import ArgumentParser
import Foundation
import ModelFormats
import ModelHub

struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List installed models (alias, architecture, parameters, quant, size, path).",
        discussion: """
            Examples:
              studio models
              studio models --available     the catalog of aliases that `studio pull` knows
              studio models --json
            """)

    @Flag(help: "List the catalog of aliases instead of what is installed.")
    var available = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct Row: Codable {
        let alias: String, name: String, architecture: String, parameters: Int?, quant: String, size: Int64, path: String, installed: Bool
    }

    func run() async throws {
        try await reportingErrors {
            let store = ModelStore()
            var rows: [Row] = []
            if available {
                let installed = Set(store.installed().map(\.name))
                rows = Catalog.entries.map {
                    Row(alias: $0.alias, name: $0.name, architecture: $0.architecture, parameters: nil, quant: $0.summary,
                        size: $0.totalSize, path: installed.contains($0.name) ? store.home.modelPath($0.name, kind: $0.kind).path : "", installed: installed.contains($0.name))
                }
            } else {
                for m in store.installed() {
                    var arch = Catalog.entry(m.name)?.architecture ?? "?"
                    var params: Int?
                    var quant = ""
                    if m.kind == .gguf, let f = try? GGUFFile(path: m.path) {
                        let s = GGUFSummary(f)
                        arch = s.architecture ?? arch
                        params = s.parameterCount
                        quant = s.fileType ?? s.quantMix.first?.type ?? ""
                    } else if m.kind == .bundle {
                        quant = "safetensors"
                    }
                    rows.append(Row(alias: m.alias ?? m.name, name: m.name, architecture: arch, parameters: params, quant: quant, size: m.size, path: m.path, installed: true))
                }
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(rows), as: UTF8.self))
                return
            }
            if rows.isEmpty {
                print("No models installed in \(store.home.models.path). Try: studio pull \(Catalog.defaultAlias)")
                return
            }
            let table = rows.map { r in
                available
                    ? [r.alias, r.architecture, r.quant, Terminal.bytes(r.size), r.installed ? "installed" : ""]
                    : [r.alias, r.architecture, r.parameters.map(Terminal.count) ?? "-", r.quant, Terminal.bytes(r.size), r.path]
            }
            let header = available ? ["ALIAS", "ARCH", "MODEL", "SIZE", ""] : ["ALIAS", "ARCH", "PARAMS", "QUANT", "SIZE", "PATH"]
            printTable([header] + table)
        }
    }
}

func printTable(_ rows: [[String]]) {
    guard let first = rows.first else { return }
    let widths = (0..<first.count).map { c in rows.map { $0[c].count }.max() ?? 0 }
    for row in rows {
        print(row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  "))
    }
}
