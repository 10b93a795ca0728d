import ChatTemplates
import Foundation
import GRDB

/// Prompts in the `prompt_versions` (immutable rows) and `prompt_labels` tables.
public struct SQLitePromptRepository: PromptRepository {
    let database: StudioDatabase

    public init(database: StudioDatabase) { self.database = database }

    public func save(name: String, _ draft: PromptDraft) throws(StoreError) -> PromptVersion {
        guard PromptReference.isValidName(name) else {
            throw .invalid("'\(name)' is not a usable prompt name: use letters, digits, '.', '_' and '-' (not only digits).")
        }
        let now = Date().timeIntervalSince1970
        let messages = TemplateValue.array(draft.messages.map { .object([("role", .string($0.role)), ("content", .string($0.content))]) })
        let version = try database.write { db in
            let next = (try Int.fetchOne(db, sql: "SELECT max(version) FROM prompt_versions WHERE name = ?", arguments: [name]) ?? 0) + 1
            try db.execute(
                sql: "INSERT INTO prompt_versions (name, version, created, model, parameters, system, messages, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [name, next, now, draft.model, TemplateValue.object(draft.parameters).jsonString, draft.system,
                            messages.jsonString, draft.note])
            return next
        }
        return PromptVersion(name: name, version: version, created: Date(timeIntervalSince1970: now), draft: draft)
    }

    public func list() throws(StoreError) -> [PromptSummary] {
        try database.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT name, max(version) AS latest, max(created) AS updated FROM prompt_versions GROUP BY name ORDER BY name
                """)
            let labels = try Self.labels(db, name: nil)
            return rows.map { row in
                let name: String = row["name"]
                return PromptSummary(name: name, latestVersion: row["latest"], labels: labels[name] ?? [:],
                                     updated: Date(timeIntervalSince1970: row["updated"]))
            }
        }
    }

    public func prompt(named name: String) throws(StoreError) -> Prompt {
        let prompt = try database.read { db -> Prompt? in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM prompt_versions WHERE name = ? ORDER BY version", arguments: [name])
            guard !rows.isEmpty else { return nil }
            return Prompt(name: name, versions: try rows.map(Self.version), labels: try Self.labels(db, name: name)[name] ?? [:])
        }
        guard let prompt else { throw .notFound("prompt named '\(name)'") }
        return prompt
    }

    public func version(named name: String, _ selector: PromptReference.Selector) throws(StoreError) -> PromptVersion {
        let found = try database.read { db -> PromptVersion? in
            let row: Row?
            switch selector {
            case .latest:
                row = try Row.fetchOne(db, sql: "SELECT * FROM prompt_versions WHERE name = ? ORDER BY version DESC LIMIT 1",
                                       arguments: [name])
            case .version(let v):
                row = try Row.fetchOne(db, sql: "SELECT * FROM prompt_versions WHERE name = ? AND version = ?", arguments: [name, v])
            case .label(let label):
                row = try Row.fetchOne(db, sql: """
                    SELECT v.* FROM prompt_labels l JOIN prompt_versions v ON v.name = l.name AND v.version = l.version
                    WHERE l.name = ? AND l.label = ?
                    """, arguments: [name, label])
            }
            return try row.map(Self.version)
        }
        guard let found else {
            switch selector {
            case .latest: throw .notFound("prompt named '\(name)'")
            case .version(let v): throw .notFound("version \(v) of prompt '\(name)'")
            case .label(let l): throw .notFound("label '\(l)' on prompt '\(name)'")
            }
        }
        return found
    }

    public func setLabel(_ label: String, name: String, version: Int) throws(StoreError) {
        guard PromptReference.isValidName(label) else {
            throw .invalid("'\(label)' is not a usable label: use letters, digits, '.', '_' and '-' (not only digits).")
        }
        _ = try self.version(named: name, .version(version))
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO prompt_labels (name, label, version, updated) VALUES (?, ?, ?, ?)
                ON CONFLICT (name, label) DO UPDATE SET version = excluded.version, updated = excluded.updated
                """, arguments: [name, label, version, Date().timeIntervalSince1970])
        }
    }

    static func labels(_ db: Database, name: String?) throws -> [String: [String: Int]] {
        let rows = name.map { n in (sql: "SELECT * FROM prompt_labels WHERE name = ?", arguments: [n] as StatementArguments) }
            ?? (sql: "SELECT * FROM prompt_labels", arguments: [])
        var out: [String: [String: Int]] = [:]
        for row in try Row.fetchAll(db, sql: rows.sql, arguments: rows.arguments) {
            out[row["name"] as String, default: [:]][row["label"] as String] = row["version"] as Int
        }
        return out
    }

    static func version(_ row: Row) throws -> PromptVersion {
        var draft = try PromptDraft(json: .object([
            ("system", .string(row["system"])),
            ("messages", try TemplateValue(jsonString: row["messages"])),
            ("parameters", try TemplateValue(jsonString: row["parameters"])),
        ]))
        draft.model = row["model"]
        draft.note = row["note"]
        return PromptVersion(name: row["name"], version: row["version"], created: Date(timeIntervalSince1970: row["created"]), draft: draft)
    }
}
