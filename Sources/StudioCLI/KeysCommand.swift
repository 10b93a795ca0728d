import ArgumentParser
import Foundation
import ModelHub
import Store

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke the API keys of `studio serve`.",
        discussion: """
            Once any key exists, `studio serve` requires
            `Authorization: Bearer <secret>` on /v1 and /api, and the admin scope on
            /api/admin. A secret is shown once, at creation; the database
            ($STUDIO_HOME/studio.sqlite) keeps only a salted hash. A revoked key
            stops working at once, even on a running server.

            Examples:
              studio keys create --name laptop
              studio keys create --name ci --scopes chat,admin --rpm 60 --tpm 20000
              studio keys list
              studio keys revoke 3
            """,
        subcommands: [Create.self, List.self, Revoke.self])
}

/// The store in $STUDIO_HOME, as `studio serve` opens it.
func openStudioStore() throws -> Store {
    try Store.open(path: StudioDatabase.defaultPath(home: StudioHome.fromEnvironment().root))
}

extension Keys {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key and print its secret (shown only this once).")

        @Option(help: "A name that says who or what uses the key.")
        var name: String

        @Option(help: "Comma-separated scopes: chat (the /v1 API) and admin (also /api/admin).")
        var scopes = "chat"

        @Option(help: "Requests per minute allowed (default: no limit).")
        var rpm: Int?

        @Option(help: "Prompt + completion tokens per minute allowed (default: no limit).")
        var tpm: Int?

        func parsedScopes() throws -> [KeyScope] {
            try scopes.split(separator: ",").map { part in
                let s = part.trimmingCharacters(in: .whitespaces)
                guard let scope = KeyScope(rawValue: s) else { throw ValidationError("Unknown scope '\(s)': use chat or admin.") }
                return scope
            }
        }

        func validate() throws {
            _ = try parsedScopes()
            if let rpm, rpm < 1 { throw ValidationError("--rpm must be at least 1, got \(rpm).") }
            if let tpm, tpm < 1 { throw ValidationError("--tpm must be at least 1, got \(tpm).") }
        }

        func run() async throws {
            try await reportingErrors {
                let (key, secret) = try openStudioStore().keys.create(NewKey(name: name, scopes: try parsedScopes(), rpm: rpm, tpm: tpm))
                print(secret)
                Terminal.error("created key \(key.id) '\(key.name)' (\(key.scopes.map(\.rawValue).joined(separator: ","))); "
                    + "the secret above is shown only once")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")

        func run() async throws {
            try await reportingErrors {
                let keys = try openStudioStore().keys.list()
                guard !keys.isEmpty else {
                    print("No keys: the server is open. Create one with `studio keys create --name NAME`.")
                    return
                }
                let time = DateFormatter()
                time.dateFormat = "yyyy-MM-dd HH:mm"
                print(["ID", "NAME", "PREFIX", "SCOPES", "RPM", "TPM", "CREATED", "LAST USED", "STATE"].joined(separator: "\t"))
                for k in keys {
                    print([String(k.id), k.name, k.prefix + "…", k.scopes.map(\.rawValue).joined(separator: ","),
                           k.rpm.map(String.init) ?? "-", k.tpm.map(String.init) ?? "-", time.string(from: k.created),
                           k.lastUsed.map(time.string) ?? "never", k.isRevoked ? "revoked" : "active"].joined(separator: "\t"))
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key: it stops working at once.")

        @Argument(help: "The key's id (see `studio keys list`).")
        var id: Int64

        func run() async throws {
            try await reportingErrors {
                let key = try openStudioStore().keys.revoke(id: id)
                print("revoked key \(key.id) '\(key.name)'")
            }
        }
    }
}
