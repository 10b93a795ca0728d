// `/api/admin`: keys, the audit log, and model pulls with live progress (SSE). The admin scope
// is checked by KeyAuthMiddleware before any of these run.

import ChatTemplates
import Foundation
import Hummingbird
import ModelHub
import Store

struct AdminRoutes<Context: RequestContext>: Sendable {
    let services: StudioServices
    var store: Store { services.store }

    func register(on admin: RouterGroup<Context>) {
        admin.get("keys") { _, _ in try listKeys() }
        admin.post("keys") { request, context in try await createKey(request, context: context) }
        admin.delete("keys/{id}") { _, context in try revokeKey(context.parameters.require("id")) }
        admin.get("logs") { request, _ in try logs(request) }
        admin.get("logs/{id}") { _, context in try log(context.parameters.require("id")) }
        admin.post("models/pull") { request, context in try await pull(request, context: context) }
    }

    // MARK: - keys

    static func keyJSON(_ k: APIKey) -> TemplateValue {
        .object([
            ("id", .int(Int(k.id))), ("name", .string(k.name)), ("prefix", .string(k.prefix)),
            ("scopes", .array(k.scopes.map { .string($0.rawValue) })), ("rpm", APIJSON.optional(k.rpm)),
            ("tpm", APIJSON.optional(k.tpm)), ("created", APIJSON.unix(k.created)), ("revoked", .bool(k.isRevoked)),
            ("last_used", k.lastUsed.map(APIJSON.unix) ?? .null),
        ])
    }

    func listKeys() throws -> Response {
        let keys = try APIJSON.store { () throws(StoreError) in try store.keys.list() }
        return APIJSON.ok(.object([("data", .array(keys.map(Self.keyJSON)))]))
    }

    func createKey(_ request: Request, context: Context) async throws -> Response {
        let f = try await OpenAIRoutes<Context>.fields(request, context: context)
        guard let name = try f.string("name") else { throw APIError.missing("name") }
        var scopes: [KeyScope] = [.chat]
        if let given = try f.strings("scopes") {
            scopes = try given.map { s throws(APIError) in
                guard let scope = KeyScope(rawValue: s) else {
                    throw APIError.invalidValue("scopes", "Unknown scope '\(s)': use 'chat' or 'admin'.")
                }
                return scope
            }
        }
        let new = NewKey(name: name, scopes: scopes, rpm: try f.int("rpm"), tpm: try f.int("tpm"))
        let (key, secret) = try APIJSON.store { () throws(StoreError) in try store.keys.create(new) }
        return APIJSON.ok(.object([("key", Self.keyJSON(key)), ("secret", .string(secret))]), status: .created)
    }

    func revokeKey(_ id: String) throws -> Response {
        guard let id = Int64(id) else { throw APIError.invalidValue("id", "A key id is a number, got '\(id)'.") }
        let key = try APIJSON.store { () throws(StoreError) in try store.keys.revoke(id: id) }
        return APIJSON.ok(.object([("id", .int(Int(key.id))), ("revoked", .bool(true))]))
    }

    // MARK: - logs

    func logs(_ request: Request) throws -> Response {
        let q = request.uri.queryParameters
        func text(_ name: String) -> String? { q.get(name).flatMap { $0.isEmpty ? nil : $0 } }
        var query = AuditQuery(model: text("model"), key: text("key"), grep: text("grep"),
                               limit: try APIJSON.int(request, "limit", default: 50, in: 1...1000),
                               offset: try APIJSON.int(request, "offset", default: 0, in: 0...Int(Int32.max)))
        if let since = text("since") {
            guard let date = AuditQuery.parseTime(since) else {
                throw APIError.invalidValue("since", "'since' must be unix seconds or an ISO 8601 time, got '\(since)'.")
            }
            query.since = date
        }
        if text("status") != nil { query.status = try APIJSON.int(request, "status", default: 0, in: 100...599) }
        let (records, total) = try APIJSON.store { () throws(StoreError) in try store.audit.search(query) }
        return APIJSON.ok(.object([("data", .array(records.map(\.summaryJSON))), ("total", .int(total))]))
    }

    func log(_ id: String) throws -> Response {
        guard let n = Int64(id) else { throw APIError.invalidValue("id", "A log id is a number, got '\(id)'.") }
        guard let record = try APIJSON.store({ () throws(StoreError) in try store.audit.record(id: n) }) else {
            throw APIError(StoreError.notFound("log record \(n)"))
        }
        return APIJSON.ok(record.detailJSON)
    }

    // MARK: - pull

    static func eventJSON(_ event: PullEvent) -> TemplateValue {
        switch event {
        case .trying(let source): .object([("phase", "trying"), ("source", .string(source))])
        case let .progress(bytes, total):
            .object([("phase", "downloading"), ("bytes", .int(Int(bytes))), ("total", total.map { .int(Int($0)) } ?? .null)])
        case .note(let text): .object([("phase", "note"), ("message", .string(text))])
        case let .sourceFailed(source, reason): .object([("phase", "source_failed"), ("source", .string(source)), ("reason", .string(reason))])
        }
    }

    /// Pulls a model, streaming its progress as server-sent events; the last event is
    /// `{"done": true, "model": NAME}` or `{"error": "..."}`. A client that hangs up cancels it.
    func pull(_ request: Request, context: Context) async throws -> Response {
        let f = try await OpenAIRoutes<Context>.fields(request, context: context)
        guard let model = try f.string("model"), !model.isEmpty else { throw APIError.missing("model") }
        let home = services.home
        let (events, continuation) = AsyncStream<TemplateValue>.makeStream(bufferingPolicy: .bufferingNewest(256))
        let task = Task {
            do {
                let result = try await ModelPuller(home: home).pull(model) { continuation.yield(Self.eventJSON($0)) }
                continuation.yield(.object([("done", true), ("model", .string(result.model.alias ?? result.model.name)),
                                            ("downloaded", .bool(result.downloaded)), ("size_bytes", .int(Int(result.model.size)))]))
            } catch {
                continuation.yield(.object([("error", .string("\(error)"))]))
            }
            continuation.finish()
        }
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            do {
                for await event in events {
                    try await writer.write(ByteBuffer(string: "data: " + JSONText.encode(event) + "\n\n"))
                }
                try await writer.finish(nil)
            } catch {
                task.cancel()
                throw error
            }
        })
    }
}
