// `/api/prompts`: list, show, save a version, diff two versions, move a label.

import ChatTemplates
import Hummingbird
import Store

struct PromptRoutes<Context: RequestContext>: Sendable {
    let prompts: any PromptRepository

    func register(on group: RouterGroup<Context>) {
        group.get { _, _ in try list() }
        group.get("{name}") { _, context in try show(context.parameters.require("name")) }
        group.post("{name}") { request, context in try await save(context.parameters.require("name"), request, context: context) }
        group.get("{name}/diff") { request, context in try diff(context.parameters.require("name"), request) }
        group.put("{name}/labels/{label}") { request, context in
            try await label(context.parameters.require("name"), context.parameters.require("label"), request, context: context)
        }
    }

    static func labelsJSON(_ labels: [String: Int]) -> TemplateValue {
        .object(labels.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })
    }

    static func versionJSON(_ v: PromptVersion) -> TemplateValue {
        .object([
            ("version", .int(v.version)), ("created", APIJSON.unix(v.created)), ("model", APIJSON.optional(v.draft.model)),
            ("parameters", .object(v.draft.parameters)), ("system", .string(v.draft.system)),
            ("messages", .array(v.draft.messages.map { .object([("role", .string($0.role)), ("content", .string($0.content))]) })),
            ("note", APIJSON.optional(v.draft.note)), ("variables", .array(v.variables.map(TemplateValue.string))),
        ])
    }

    func list() throws -> Response {
        let all = try APIJSON.store { () throws(StoreError) in try prompts.list() }
        return APIJSON.ok(.object([("data", .array(all.map { p in
            .object([("name", .string(p.name)), ("latest_version", .int(p.latestVersion)), ("labels", Self.labelsJSON(p.labels)),
                     ("updated", APIJSON.unix(p.updated))])
        }))]))
    }

    func show(_ name: String) throws -> Response {
        let p = try APIJSON.store { () throws(StoreError) in try prompts.prompt(named: name) }
        return APIJSON.ok(.object([("name", .string(p.name)), ("labels", Self.labelsJSON(p.labels)),
                                   ("versions", .array(p.versions.map(Self.versionJSON)))]))
    }

    func save(_ name: String, _ request: Request, context: Context) async throws -> Response {
        let f = try await OpenAIRoutes<Context>.fields(request, context: context)
        let v = try APIJSON.store { () throws(StoreError) in try prompts.save(name: name, try PromptDraft(json: .object(f.object))) }
        return APIJSON.ok(.object([("name", .string(v.name)), ("version", .int(v.version))]), status: .created)
    }

    func diff(_ name: String, _ request: Request) throws -> Response {
        let latest = try APIJSON.store { () throws(StoreError) in try prompts.version(named: name, .latest) }.version
        let to = try APIJSON.int(request, "to", default: latest, in: 1...Int.max)
        let from = try APIJSON.int(request, "from", default: max(1, to - 1), in: 1...Int.max)
        let (a, b) = try APIJSON.store { () throws(StoreError) in
            (try prompts.version(named: name, .version(from)), try prompts.version(named: name, .version(to)))
        }
        let lines = LineDiff.diff(a.text, b.text).map { TemplateValue.object([("op", .string($0.op.rawValue)), ("text", .string($0.text))]) }
        return APIJSON.ok(.object([("from", .int(from)), ("to", .int(to)), ("lines", .array(lines))]))
    }

    func label(_ name: String, _ label: String, _ request: Request, context: Context) async throws -> Response {
        let f = try await OpenAIRoutes<Context>.fields(request, context: context)
        guard let version = try f.int("version") else { throw APIError.missing("version") }
        try APIJSON.store { () throws(StoreError) in try prompts.setLabel(label, name: name, version: version) }
        return APIJSON.ok(.object([("name", .string(name)), ("label", .string(label)), ("version", .int(version))]))
    }
}
