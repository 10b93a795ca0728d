import ChatTemplates
import Hummingbird
import Store

/// Resolves `"model": "prompt:NAME@LABEL"` (or `@VERSION`, or bare `prompt:NAME` for the latest)
/// on `/v1/chat/completions` before the route reads the body. The stored version's system and
/// messages, rendered with the request's `variables`, come first, then the request's own
/// `messages`; the version's model is used; its parameters apply unless the request's JSON sets
/// the same field (a field is "set" when it is present and not null, so a request can override
/// `temperature` with the engine's default value too). A missing variable is a 400 naming it.
struct PromptMiddleware<Context: RequestContext>: RouterMiddleware {
    let prompts: any PromptRepository

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, request.uri.path == "/v1/chat/completions", let trace = RequestTrace.current,
              let body = trace.body, case .string(let model)? = body["model"], let reference = PromptReference(model: model)
        else { return try await next(request, context) }
        let version: PromptVersion
        do {
            version = try prompts.version(named: reference.name, reference.selector)
        } catch .notFound(let what) {
            throw APIError(status: .notFound, message: "The model '\(model)' names a stored prompt, but there is no \(what).",
                           param: "model", code: "model_not_found")
        } catch {
            throw KeyAuthMiddleware<Context>.storeFailed(error)
        }
        let merged = try Self.merge(version, into: body)
        trace.body = merged
        trace.prompt = "\(version.name)@\(version.version)"
        var head = request.head
        head.headerFields[.contentLength] = nil
        let rewritten = Request(head: head, body: RequestBody(buffer: ByteBuffer(string: TemplateValue.object(merged).jsonString)))
        return try await next(rewritten, context)
    }

    /// The request body with the prompt applied.
    static func merge(_ version: PromptVersion, into body: TemplateObject) throws(APIError) -> TemplateObject {
        guard let model = version.draft.model else {
            throw APIError(status: .badRequest,
                           message: "Prompt '\(version.name)' version \(version.version) has no model: save it with one.",
                           param: "model", code: "invalid_value")
        }
        var variables: [String: TemplateValue] = [:]
        switch body["variables"] {
        case .object(let o)?: for (k, v) in o.pairs { variables[k] = v }
        case nil, .null?: break
        default: throw .wrongType("variables", expected: "an object")
        }
        let rendered: [TemplateValue]
        do { rendered = try version.render(variables) } catch {
            let name = switch error { case .missingVariable(let n): n }
            throw APIError(status: .badRequest, message: error.description,
                           param: "variables.\(name)", code: "missing_variable")
        }
        var extra: [TemplateValue] = []
        switch body["messages"] {
        case .array(let m)?: extra = m
        case nil, .null?: break
        default: throw .wrongType("messages", expected: "an array")
        }
        var out = TemplateObject(version.draft.parameters.pairs)
        for (k, v) in body.pairs where v != .null && k != "model" && k != "messages" { out[k] = v }
        out["model"] = .string(model)
        out["messages"] = .array(rendered + extra)
        return out
    }
}
