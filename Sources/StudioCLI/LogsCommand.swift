import ArgumentParser
import Foundation
import Store

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search the audit log of `studio serve` (every /v1 and /api request), newest first.",
        discussion: """
            Examples:
              studio logs                                  the last 20 requests
              studio logs --model smollm2:135m --since 2026-11-22T14:00:00Z
              studio logs --key ci --grep invoice --limit 100
              studio logs --jsonl --limit 100000 > audit.jsonl   export everything (prompts and responses)
            """)

    @Option(help: "Only requests for this model.")
    var model: String?

    @Option(help: "Only requests made with this key (its id or name).")
    var key: String?

    @Option(help: "Only requests since this time: unix seconds or ISO 8601 (2026-11-22T14:00:00Z, 2026-11-22).")
    var since: String?

    @Option(help: "Only requests whose prompt, response or error contains this text.")
    var grep: String?

    @Option(help: "Only requests answered with this HTTP status.")
    var status: Int?

    @Option(help: "The most records to show.")
    var limit = 20

    @Flag(help: "Print every field of each record as one JSON object per line.")
    var jsonl = false

    func validate() throws {
        if let since, AuditQuery.parseTime(since) == nil {
            throw ValidationError("--since must be unix seconds or ISO 8601 (2026-11-22T14:00:00Z), got '\(since)'.")
        }
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1, got \(limit).") }
    }

    func run() async throws {
        try await reportingErrors {
            let query = AuditQuery(model: model, key: key, since: since.flatMap(AuditQuery.parseTime), grep: grep, status: status,
                                   limit: limit)
            let (records, total) = try openStudioStore().audit.search(query)
            if jsonl {
                for r in records { print(r.jsonLine) }
                return
            }
            let time = DateFormatter()
            time.dateFormat = "yyyy-MM-dd HH:mm:ss"
            print(["ID", "TIME", "STATUS", "KEY", "MODEL", "TOKENS", "LATENCY", "ENDPOINT", "PROMPT"].joined(separator: "\t"))
            for r in records {
                let tokens = r.promptTokens.map { "\($0)+\(r.completionTokens ?? 0)" } ?? "-"
                let latency = r.latencyMs.map { String(format: "%.0fms", $0) } ?? "-"
                print([String(r.id), time.string(from: r.time), String(r.status), r.keyName ?? "-", r.model ?? "-", tokens, latency,
                       r.endpoint, String(r.preview.prefix(60))].joined(separator: "\t"))
            }
            if total > records.count { Terminal.error("\(records.count) of \(total) matching records (raise --limit for more)") }
        }
    }
}
