// The studio's own `/api` for the web workbench: who am I, models, votes and the leaderboard.
// Keys, logs and pulls are in AdminRoutes, prompts in PromptRoutes. Handlers map HTTP to the
// Store and ModelHub; the contract is /api in docs (Studio /api contract).

import Backends
import ChatTemplates
import Foundation
import Hummingbird
import ModelHub
import Store

struct StudioAPIRoutes<Context: RequestContext>: Sendable {
    let backend: any ChatBackend
    let services: StudioServices
    /// Whether the server was started with `--api-key` (then keys are required even if the store has none).
    let legacyKey: Bool

    func register(on router: Router<Context>) {
        let api = router.group("api")
        api.get("me") { _, _ in try me() }
        api.get("models") { _, _ in try await models() }
        api.post("votes") { request, context in try await vote(request, context: context) }
        api.get("leaderboard") { _, _ in try leaderboard() }
        AdminRoutes<Context>(services: services).register(on: api.group("admin"))
        PromptRoutes<Context>(prompts: services.store.prompts).register(on: api.group("prompts"))
    }

    func me() throws -> Response {
        let required = try legacyKey ? true : APIJSON.store { () throws(StoreError) in try services.store.keys.anyKeyExists() }
        let key: TemplateValue = RequestTrace.current?.key.map { k in
            .object([("id", .int(Int(k.id))), ("name", .string(k.name)), ("scopes", .array(k.scopes.map { .string($0.rawValue) }))])
        } ?? .null
        return APIJSON.ok(.object([("auth_required", .bool(required)), ("key", key)]))
    }

    /// Installed models (with whether the server serves and has loaded them), served models
    /// given by path, then catalog models not installed yet. `memory_bytes` is what a loaded
    /// model holds: its mapped weights plus its slots' KV caches (the file size for a model loaded
    /// by a remote engine, whose memory is not known here).
    func models() async throws -> Response {
        let served = await backend.models()
        let memory = Dictionary(await backend.statistics().map { ($0.id, $0.memoryBytes) }, uniquingKeysWith: max)
        var rows: [TemplateValue] = []
        var seen = Set<String>()
        func row(_ id: String, installed: Bool, loaded: Bool, size: Int64?, architecture: String?) -> TemplateValue {
            .object([
                ("id", .string(id)), ("installed", .bool(installed)), ("loaded", .bool(loaded)),
                ("size_bytes", size.map { .int(Int($0)) } ?? .null),
                ("memory_bytes", loaded ? ((memory[id].flatMap { $0 > 0 ? $0 : nil } ?? size.map { Int($0) }).map { .int($0) } ?? .null) : .null),
                ("architecture", APIJSON.optional(architecture)),
            ])
        }
        for m in ModelStore(home: services.home).installed() {
            let id = m.alias ?? m.name
            let serving = served.first { $0.id == id || $0.id == m.name }
            if let serving { seen.insert(serving.id) }
            seen.insert(id)
            rows.append(row(serving?.id ?? id, installed: true, loaded: serving?.loaded ?? false, size: m.size,
                            architecture: m.alias.flatMap(Catalog.entry)?.architecture))
        }
        for s in served where !seen.contains(s.id) {
            seen.insert(s.id)
            rows.append(row(s.id, installed: true, loaded: s.loaded, size: nil, architecture: nil))
        }
        for e in Catalog.entries where !seen.contains(e.alias) {
            rows.append(row(e.alias, installed: false, loaded: false, size: e.totalSize, architecture: e.architecture))
        }
        return APIJSON.ok(.object([("data", .array(rows))]))
    }

    func vote(_ request: Request, context: Context) async throws -> Response {
        let f = try await OpenAIRoutes<Context>.fields(request, context: context)
        guard let left = try f.string("left") else { throw APIError.missing("left") }
        guard let right = try f.string("right") else { throw APIError.missing("right") }
        guard let w = try f.string("winner") else { throw APIError.missing("winner") }
        guard let winner = Vote.Winner(rawValue: w) else {
            throw APIError.invalidValue("winner", "'winner' must be 'left', 'right' or 'tie', got '\(w)'.")
        }
        let vote = Vote(prompt: try f.string("prompt") ?? "", left: left, right: right, winner: winner)
        let id = try APIJSON.store { () throws(StoreError) in try services.store.votes.add(vote) }
        return APIJSON.ok(.object([("id", .int(Int(id)))]))
    }

    func leaderboard() throws -> Response {
        let votes = try APIJSON.store { () throws(StoreError) in try services.store.votes.all() }
        let rows = EloLeaderboard.ratings(votes).map { r in
            TemplateValue.object([
                ("model", .string(r.model)), ("elo", .double((r.elo * 10).rounded() / 10)), ("wins", .int(r.wins)),
                ("losses", .int(r.losses)), ("ties", .int(r.ties)), ("games", .int(r.games)),
            ])
        }
        return APIJSON.ok(.object([("data", .array(rows))]))
    }
}
