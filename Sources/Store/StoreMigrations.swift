import GRDB

/// The schema, as numbered migrations. A released migration is never edited: changes go in a new
/// one, so every existing database upgrades in order.
enum StoreMigrations {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-keys") { db in
            try db.execute(sql: """
                CREATE TABLE api_keys (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    prefix TEXT NOT NULL,
                    salt BLOB NOT NULL,
                    hash BLOB NOT NULL,
                    scopes TEXT NOT NULL,
                    rpm INTEGER,
                    tpm INTEGER,
                    created REAL NOT NULL,
                    revoked REAL,
                    last_used REAL
                );
                CREATE INDEX api_keys_prefix ON api_keys(prefix);
                """)
        }
        m.registerMigration("v1-audit") { db in
            try db.execute(sql: """
                CREATE TABLE audit_log (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    request_id TEXT NOT NULL,
                    time REAL NOT NULL,
                    key_id INTEGER,
                    key_name TEXT,
                    method TEXT NOT NULL,
                    endpoint TEXT NOT NULL,
                    model TEXT,
                    status INTEGER NOT NULL,
                    stream INTEGER NOT NULL DEFAULT 0,
                    prompt_tokens INTEGER,
                    completion_tokens INTEGER,
                    latency_ms REAL,
                    ttft_ms REAL,
                    parameters TEXT,
                    request TEXT,
                    response TEXT,
                    error TEXT
                );
                CREATE INDEX audit_log_time ON audit_log(time);
                CREATE INDEX audit_log_model ON audit_log(model);
                CREATE INDEX audit_log_key ON audit_log(key_id);
                """)
        }
        m.registerMigration("v1-prompts") { db in
            try db.execute(sql: """
                CREATE TABLE prompt_versions (
                    name TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    created REAL NOT NULL,
                    model TEXT,
                    parameters TEXT NOT NULL,
                    system TEXT NOT NULL,
                    messages TEXT NOT NULL,
                    note TEXT,
                    PRIMARY KEY (name, version)
                );
                CREATE TRIGGER prompt_versions_immutable BEFORE UPDATE ON prompt_versions
                BEGIN SELECT RAISE(ABORT, 'prompt versions are immutable'); END;
                CREATE TABLE prompt_labels (
                    name TEXT NOT NULL,
                    label TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    updated REAL NOT NULL,
                    PRIMARY KEY (name, label),
                    FOREIGN KEY (name, version) REFERENCES prompt_versions(name, version)
                );
                """)
        }
        m.registerMigration("v1-votes") { db in
            try db.execute(sql: """
                CREATE TABLE votes (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    time REAL NOT NULL,
                    prompt TEXT NOT NULL,
                    left_model TEXT NOT NULL,
                    right_model TEXT NOT NULL,
                    winner TEXT NOT NULL CHECK (winner IN ('left', 'right', 'tie'))
                );
                """)
        }
        // Reasoning text that remote reasoning models send apart from the answer (vLLM's
        // `reasoning_content`); NULL for answers without any, and for rows written before.
        m.registerMigration("v2-audit-reasoning") { db in
            try db.execute(sql: "ALTER TABLE audit_log ADD COLUMN reasoning TEXT")
        }
        return m
    }
}
