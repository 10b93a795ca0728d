import ArgumentParser
import Backends

/// `studio serve`'s remote engines and routes: other OpenAI-compatible servers (vLLM,
/// llama-server, Ollama, another studio) served beside the local models, with fallback.
struct RemoteOptions: ParsableArguments {
    @Option(name: .customLong("remote"), help: ArgumentHelp(
        "A remote OpenAI-compatible server, NAME=URL with URL ending in /v1 (repeatable). Its models are served too; NAME/MODEL always reaches it.",
        valueName: "name=url"))
    var remotes: [String] = []

    @Option(name: .customLong("remote-key"), help: ArgumentHelp("The bearer key for a remote, NAME=KEY (repeatable).", valueName: "name=key"))
    var keys: [String] = []

    @Option(name: .customLong("remote-model"), help: ArgumentHelp(
        "Serve a remote's model under another name, NAME/MODEL=REMOTE_MODEL (repeatable). A remote given any is limited to those.",
        valueName: "name/model=remote-model"))
    var modelNames: [String] = []

    @Option(name: .customLong("route"), help: ArgumentHelp(
        "Which backends serve a model, tried in order: MODEL=NAME[,NAME...]; MODEL may end in * (repeatable). The local engine is 'local'. "
            + "The next backend is tried when one is down, times out, is overloaded (429) or fails (5xx) before its first token.",
        valueName: "model=names"))
    var routes: [String] = []

    @Option(name: .customLong("remote-timeout"), help: "How long a remote may stay silent before it counts as down, e.g. 30s, 2m.")
    var timeout = "120s"

    /// The name the local engine has in routes.
    static let localName = "local"

    func validate() throws {
        _ = try configurations()
        _ = try parsedRoutes()
        guard let t = try Serve.parseDuration(timeout), t > .zero else {
            throw ValidationError("--remote-timeout must be a duration such as 30s or 2m, got '\(timeout)'.")
        }
    }

    /// The remotes as configured, in the order given.
    func configurations() throws -> [RemoteConfiguration] {
        let idle = (try? Serve.parseDuration(timeout)).flatMap { $0 } ?? .seconds(120)
        var configs: [RemoteConfiguration] = []
        for entry in remotes {
            let (name, url) = try Self.pair(entry, option: "--remote", example: "vllm=http://10.0.0.5:8000/v1")
            guard !name.contains("/"), name != Self.localName else {
                throw ValidationError("--remote name '\(name)' must not contain '/' or be '\(Self.localName)' (the local engine's name).")
            }
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ValidationError("--remote \(name) needs an http:// or https:// URL, got '\(url)'.")
            }
            guard !configs.contains(where: { $0.name == name }) else { throw ValidationError("--remote '\(name)' is given twice.") }
            configs.append(RemoteConfiguration(name: name, baseURL: url, idleTimeout: idle))
        }
        for entry in keys {
            let (name, key) = try Self.pair(entry, option: "--remote-key", example: "vllm=sk-...")
            guard let i = configs.firstIndex(where: { $0.name == name }) else {
                throw ValidationError("--remote-key names '\(name)', which no --remote defines.")
            }
            configs[i].apiKey = key
        }
        for entry in modelNames {
            let (left, remoteModel) = try Self.pair(entry, option: "--remote-model", example: "vllm/coder=Qwen/Qwen2.5-Coder-7B-Instruct")
            guard let slash = left.firstIndex(of: "/"), let i = configs.firstIndex(where: { $0.name == left[..<slash] }) else {
                throw ValidationError("--remote-model '\(entry)' must start with a --remote name and '/', e.g. vllm/coder=Qwen/Qwen2.5-Coder-7B-Instruct.")
            }
            let model = String(left[left.index(after: slash)...])
            guard !model.isEmpty else { throw ValidationError("--remote-model '\(entry)' names no model before '='.") }
            configs[i].models[model] = remoteModel
        }
        return configs
    }

    func parsedRoutes() throws -> [Route] {
        let known = [Self.localName] + (try configurations()).map(\.name)
        return try routes.map { entry in
            let (model, list) = try Self.pair(entry, option: "--route", example: "qwen2.5-coder:7b=vllm,local")
            let names = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !names.isEmpty else { throw ValidationError("--route \(model) names no backend after '='.") }
            for name in names where !known.contains(name) {
                throw ValidationError("--route \(model) names '\(name)', which is neither a --remote nor 'local' (known: \(known.joined(separator: ", "))).")
            }
            return Route(pattern: model, backends: names)
        }
    }

    /// `local` alone when no remote or route is given; otherwise a router over `local` and the
    /// remotes (in that order), with the remotes to shut down at the end.
    func backend(local: any ChatBackend) throws -> (backend: any ChatBackend, remotes: [OpenAICompatibleBackend]) {
        let configs = try configurations()
        let routes = try parsedRoutes()
        if configs.isEmpty && routes.isEmpty { return (local, []) }
        let remotes = configs.map(OpenAICompatibleBackend.init)
        let named: [(name: String, backend: any ChatBackend)] = [(Self.localName, local)] + remotes.map { ($0.configuration.name, $0) }
        return (try RouterBackend(backends: named, routes: routes), remotes)
    }

    /// Splits `LEFT=RIGHT` at the first `=`.
    static func pair(_ text: String, option: String, example: String) throws -> (String, String) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex, text.index(after: eq) != text.endIndex else {
            throw ValidationError("\(option) must look like \(example), got '\(text)'.")
        }
        return (String(text[..<eq]), String(text[text.index(after: eq)...]))
    }
}
