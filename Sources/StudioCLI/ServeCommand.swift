import ArgumentParser
import Backends
import Foundation
import Gateway
import Hummingbird
import Inference
import ModelHub
import Store

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve models over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models).",
        // Paragraph lines end in a backslash (one line each, so the help wraps them to the
        // terminal cleanly); example lines stay under 78 columns.
        discussion: """
            Models load on first use and unload after --keep-alive without requests. Several \
            requests to one model are generated together (continuous batching over --parallel \
            slots); more wait in a bounded queue (429 with Retry-After when it is full). \
            Without --model every installed model is served, including models pulled while it runs.

            --remote adds another OpenAI-compatible server (vLLM, llama-server, Ollama, studio): \
            its models are served beside the local ones. --route sends a model to backends in \
            order, falling back to the next when one is down, times out or fails before its \
            first token (never in the middle of an answer).

            Keys, the audit log and prompts live in $STUDIO_HOME/studio.sqlite. With no key \
            the server is open (and only listens beyond this machine with --no-auth); once \
            `studio keys create` has made one, /v1 and /api need a bearer key. Every request \
            is recorded in the audit log (`studio logs`); --redact masks personal data first. \
            The web workbench is at http://HOST:PORT/.

            Examples:
              studio serve --model qwen2.5-coder:0.5b
              studio serve --model smollm2:135m --model gemma3:270m --keep-alive 10m
              studio serve --model qwen2.5-coder:0.5b \\
                --remote vllm=http://10.0.0.5:8000/v1 --remote-key vllm=sk-... \\
                --route 'qwen2.5-coder:7b=vllm,local' --route 'big-*=vllm'
              curl http://127.0.0.1:8080/v1/chat/completions \\
                -H 'Content-Type: application/json' \\
                -d '{"model": "qwen2.5-coder:0.5b",
                     "messages": [{"role": "user", "content": "Hi"}]}'
            """)

    @Option(help: "Address to listen on (127.0.0.1 keeps the server private to this machine).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = 8080

    @Option(name: .customLong("model"), help: "A model to serve: alias, installed name or GGUF path (repeatable; pulled first if needed).")
    var models: [String] = []

    @Option(name: .customLong("keep-alive"), help: "Unload a model after this long without requests, e.g. 30s, 5m, 1h; 'never' keeps it loaded.")
    var keepAlive = "5m"

    @Option(help: "Sequences generated at once per model.")
    var parallel = 4

    @Option(name: .customLong("ctx"), help: "Context length of each sequence (default: the model's, at most 4096).")
    var context: Int?

    @Option(name: .customLong("queue"), help: "Requests that may wait per model before the server answers 429.")
    var queue = 64

    @Option(name: .customLong("prefill-chunk"), help: "Prompt tokens processed per scheduler step, so long prompts do not stall others. The default, llama.cpp's 512-token step, keeps a lone request's numbers equal to `studio run`'s.")
    var prefillChunk = SchedulerConfiguration.defaultPrefillChunk

    @Option(help: "Threads per model (default: every core).")
    var threads: Int?

    @Option(name: .customLong("api-key"), help: "Require this bearer key on /v1 and /api, besides the stored keys (default: $STUDIO_API_KEY, or none).")
    var apiKey: String?

    @Flag(name: .customLong("no-auth"), help: "Allow a non-loopback --host while no API key exists (anyone who can reach it may use it).")
    var noAuth = false

    @Flag(help: "Mask emails, phone, card and IBAN numbers in prompts and responses before the audit log stores them.")
    var redact = false

    @OptionGroup(title: "Remote engines")
    var remote: RemoteOptions

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535, got \(port).") }
        guard (1...256).contains(parallel) else { throw ValidationError("--parallel must be between 1 and 256, got \(parallel).") }
        if let context, context < 16 { throw ValidationError("--ctx must be at least 16, got \(context).") }
        guard queue >= 0 else { throw ValidationError("--queue must be 0 or more, got \(queue).") }
        guard prefillChunk >= 1 else { throw ValidationError("--prefill-chunk must be at least 1, got \(prefillChunk).") }
        if let threads, !(1...512).contains(threads) { throw ValidationError("--threads must be between 1 and 512, got \(threads).") }
        _ = try Self.parseDuration(keepAlive)
    }

    /// `30s`, `5m`, `1h`, a plain number of seconds, or `never` (nil).
    static func parseDuration(_ text: String) throws -> Duration? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t == "never" || t == "-1" { return nil }
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            if let v = Double(t.dropLast(suffix.count)), v >= 0 { return .milliseconds(Int64(v * scale * 1000)) }
        }
        if let v = Double(t), v >= 0 { return .milliseconds(Int64(v * 1000)) }
        throw ValidationError("--keep-alive must look like 30s, 5m, 1h or 'never', got '\(text)'.")
    }

    func run() async throws {
        try await reportingErrors {
            try CPUSupport.check()
            let key = apiKey ?? ProcessInfo.processInfo.environment["STUDIO_API_KEY"]
            let studio = try studioServices(legacyKey: key)
            let specs = try await modelSpecs()
            guard !specs.isEmpty || !remote.remotes.isEmpty else {
                throw ValidationError("No model to serve: pass --model ALIAS (e.g. --model qwen2.5-coder:0.5b) or pull one first.")
            }
            // Without --model every installed model is served, including those pulled later.
            let threadCount = threads
            var discover: (@Sendable () -> [LocalModelSpec])?
            if models.isEmpty { discover = { Serve.installedSpecs(threads: threadCount) } }
            let backend = LocalBackend(models: specs, options: .init(
                slots: parallel, contextLength: context, maxQueued: queue, prefillChunk: prefillChunk,
                keepAlive: try Self.parseDuration(keepAlive)), discover: discover)
            await backend.startKeepAlive()
            let (host, port) = (self.host, self.port)
            let names = specs.map(\.id).joined(separator: ", ")
            let (served, remotes) = try remote.backend(local: backend)
            let remoteNames = remotes.isEmpty ? "" : "; remotes: " + remotes.map(\.configuration.name).joined(separator: ", ")
            let app = Gateway.application(backend: served, host: host, port: port, apiKey: key, studio: studio) {
                Terminal.error("studio serve: listening on http://\(host):\(port) (models: \(names)\(remoteNames))")
            }
            try await app.runService()
            await backend.shutdown()
            for r in remotes { await r.shutdown() }
        }
    }

    /// The store in $STUDIO_HOME (keys, audit log, prompts, votes). Refuses to listen beyond this
    /// machine while nothing would require a key, unless --no-auth says that is meant.
    func studioServices(legacyKey: String?) throws -> StudioServices {
        let home = StudioHome.fromEnvironment()
        let store = try Store.open(path: StudioDatabase.defaultPath(home: home.root))
        let hasKey = try legacyKey?.isEmpty == false || store.keys.anyKeyExists()
        if !Self.isLoopback(host), !hasKey, !noAuth {
            throw ValidationError(
                "Refusing to serve on \(host) without an API key: create one with `studio keys create --name NAME`, "
                    + "or pass --no-auth to serve without keys.")
        }
        return StudioServices(store: store, home: home, redact: redact)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The models to serve: each --model resolved (pulled when it is a catalog alias not yet
    /// installed), or every installed GGUF model.
    func modelSpecs() async throws -> [LocalModelSpec] {
        let store = ModelStore()
        if models.isEmpty { return Self.installedSpecs(threads: threads) }
        var specs: [LocalModelSpec] = []
        for name in models where !specs.contains(where: { $0.id == name }) {
            let path = try await ModelOptions.parse([name]).resolvePath()
            let installed = store.manifest(named: name)
            let aliases = [installed?.name, installed?.alias].compactMap { $0 }.filter { $0 != name }
            specs.append(.file(id: name, aliases: aliases, path: path, threads: threads))
        }
        return specs
    }

    /// Every installed GGUF model, as the store lists it now.
    static func installedSpecs(threads: Int?) -> [LocalModelSpec] {
        ModelStore().installed().filter { $0.kind == .gguf }.map { m in
            LocalModelSpec.file(id: m.alias ?? m.name, aliases: [m.name], path: m.path, threads: threads)
        }
    }
}
