import Foundation
import GRDB

/// The audit log in the `audit_log` table.
public struct SQLiteAuditRepository: AuditRepository {
    let database: StudioDatabase

    public init(database: StudioDatabase) { self.database = database }

    public func append(_ r: AuditRecord) throws(StoreError) -> Int64 {
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO audit_log (request_id, time, key_id, key_name, method, endpoint, model, status, stream,
                        prompt_tokens, completion_tokens, latency_ms, ttft_ms, parameters, request, response, error, reasoning)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [r.requestID, r.time.timeIntervalSince1970, r.keyID, r.keyName, r.method, r.endpoint, r.model,
                            r.status, r.stream, r.promptTokens, r.completionTokens, r.latencyMs, r.ttftMs, r.parameters,
                            r.request, r.response, r.error, r.reasoning])
            return db.lastInsertedRowID
        }
    }

    public func search(_ q: AuditQuery) throws(StoreError) -> (records: [AuditRecord], total: Int) {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let model = q.model {
            clauses.append("model = ?")
            arguments += [model]
        }
        if let key = q.key {
            if let id = Int64(key) {
                clauses.append("key_id = ?")
                arguments += [id]
            } else {
                clauses.append("key_name = ?")
                arguments += [key]
            }
        }
        if let since = q.since {
            clauses.append("time >= ?")
            arguments += [since.timeIntervalSince1970]
        }
        if let status = q.status {
            clauses.append("status = ?")
            arguments += [status]
        }
        if let grep = q.grep, !grep.isEmpty {
            clauses.append("(instr(request, ?) > 0 OR instr(response, ?) > 0 OR instr(error, ?) > 0 OR instr(reasoning, ?) > 0)")
            arguments += [grep, grep, grep, grep]
        }
        let filter = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        let page = arguments + [max(0, q.limit), max(0, q.offset)]
        return try database.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_log" + filter, arguments: arguments) ?? 0
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM audit_log" + filter + " ORDER BY id DESC LIMIT ? OFFSET ?",
                                        arguments: page)
            return (rows.map(Self.record), total)
        }
    }

    public func record(id: Int64) throws(StoreError) -> AuditRecord? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM audit_log WHERE id = ?", arguments: [id]).map(Self.record)
        }
    }

    static func record(_ row: Row) -> AuditRecord {
        AuditRecord(
            id: row["id"], requestID: row["request_id"], time: Date(timeIntervalSince1970: row["time"]), keyID: row["key_id"],
            keyName: row["key_name"], method: row["method"], endpoint: row["endpoint"], model: row["model"],
            status: row["status"], stream: row["stream"], promptTokens: row["prompt_tokens"],
            completionTokens: row["completion_tokens"], latencyMs: row["latency_ms"], ttftMs: row["ttft_ms"],
            parameters: row["parameters"], request: row["request"], response: row["response"], error: row["error"],
            reasoning: row["reasoning"])
    }
}
