@testable import Backends
import ChatTemplates
import Foundation
import Inference
import Testing

/// A backend whose answers the test scripts, and which counts the requests it got.
final class ScriptedBackend: ChatBackend, @unchecked Sendable {
    enum Behaviour {
        case answer(String)
        case refuse(BackendError)
        /// Sends `text`, then fails.
        case failAfter(String, BackendError)
    }

    let ids: [String]
    let behaviour: Behaviour
    private let lock = NSLock()
    private var count = 0

    init(_ ids: [String], _ behaviour: Behaviour) {
        self.ids = ids
        self.behaviour = behaviour
    }

    var requests: Int { lock.withLock { count } }

    func models() async -> [BackendModel] { ids.map { BackendModel(id: $0, created: 0) } }
    func statistics() async -> [BackendModelStats] { ids.map { BackendModelStats(id: $0, slots: 1) } }
    func completion(_ request: CompletionRequest) async throws -> BackendResponse { try start(request.model) }
    func chat(_ request: ChatRequest) async throws -> BackendResponse { try start(request.model) }

    private func start(_ model: String) throws -> BackendResponse {
        lock.withLock { count += 1 }
        let (stream, c) = AsyncThrowingStream<BackendEvent, any Error>.makeStream()
        switch behaviour {
        case .refuse(let error):
            throw error
        case .answer(let text):
            c.yield(.text(choice: 0, text: text, logprobs: nil, tokens: 1))
            c.yield(.finish(choice: 0, reason: .stop))
            c.yield(.usage(BackendUsage(promptTokens: 1, completionTokens: 1)))
            c.finish()
        case .failAfter(let text, let error):
            c.yield(.text(choice: 0, text: text, logprobs: nil, tokens: 1))
            c.finish(throwing: error)
        }
        return BackendResponse(model: model, choices: 1, promptTokens: [1], events: stream)
    }
}

@Suite struct RouterBackendTests {
    @Test func routesAreTriedInOrderUntilOneAnswers() async throws {
        let a = ScriptedBackend(["m"], .refuse(.unavailable("a is down")))
        let b = ScriptedBackend(["m"], .refuse(.busy("b is busy", retryAfterSeconds: 2)))
        let c = ScriptedBackend(["m"], .answer("from c"))
        let d = ScriptedBackend(["m"], .answer("from d"))
        let router = try RouterBackend(backends: [("a", a), ("b", b), ("c", c), ("d", d)], routes: [Route(pattern: "m", backends: ["a", "b", "c", "d"])])
        let out = await drain(try await router.chat(chatRequest("m")))
        #expect(out.error == nil)
        #expect(out.texts == ["from c"])
        #expect(out.finish == [.stop])
        #expect(out.usage == BackendUsage(promptTokens: 1, completionTokens: 1))
        let counts: [Int] = [a.requests, b.requests, c.requests, d.requests]
        #expect(counts == [1, 1, 1, 0])
    }

    @Test func aBackendThatFailedIsTriedLastForAWhile() async throws {
        let a = ScriptedBackend(["m"], .refuse(.unavailable("a is down")))
        let b = ScriptedBackend(["m"], .answer("b"))
        let route = [Route(pattern: "m", backends: ["a", "b"])]
        // An hour, so that a loaded machine running the whole suite cannot outlast the window.
        let router = try RouterBackend(backends: [("a", a), ("b", b)], routes: route, demotion: .seconds(3600))
        for _ in 0..<3 { #expect(await drain(try await router.chat(chatRequest("m"))).texts == ["b"]) }
        #expect(a.requests == 1)
        #expect(b.requests == 3)
        // Without demotion, the route's order is kept every time.
        let a2 = ScriptedBackend(["m"], .refuse(.unavailable("a is down")))
        let plain = try RouterBackend(backends: [("a", a2), ("b", b)], routes: route, demotion: .zero)
        for _ in 0..<3 { _ = await drain(try await plain.chat(chatRequest("m"))) }
        #expect(a2.requests == 3)
    }

    @Test func aCallersMistakeIsNotRetriedElsewhere() async throws {
        let a = ScriptedBackend(["m"], .refuse(.invalidRequest("bad temperature", param: "temperature")))
        let b = ScriptedBackend(["m"], .answer("b"))
        let router = try RouterBackend(backends: [("a", a), ("b", b)], routes: [Route(pattern: "m", backends: ["a", "b"])])
        await #expect(throws: BackendError.invalidRequest("bad temperature", param: "temperature")) {
            _ = try await router.chat(chatRequest("m"))
        }
        #expect(b.requests == 0)
    }

    @Test func noFallbackOnceATokenWasSent() async throws {
        let a = ScriptedBackend(["m"], .failAfter("half an ans", .internalError("a crashed")))
        let b = ScriptedBackend(["m"], .answer("b"))
        let router = try RouterBackend(backends: [("a", a), ("b", b)], routes: [Route(pattern: "m", backends: ["a", "b"])])
        let out = await drain(try await router.chat(chatRequest("m")))
        #expect(out.texts == ["half an ans"])
        #expect(out.error as? BackendError == .internalError("a crashed"))
        #expect(b.requests == 0)
    }

    @Test func whenEveryBackendFailsTheErrorNamesThemAll() async throws {
        let a = ScriptedBackend(["m"], .refuse(.unavailable("a is down.")))
        let b = ScriptedBackend(["m"], .refuse(.internalError("b broke.")))
        let router = try RouterBackend(backends: [("a", a), ("b", b)], routes: [Route(pattern: "m", backends: ["a", "b"])])
        do {
            _ = try await router.chat(chatRequest("m"))
            Issue.record("accepted")
        } catch let error as BackendError {
            #expect(error.httpStatus == 503)
            #expect(error.description == "No backend could serve 'm'. a: a is down. b: b broke.")
        }
    }

    @Test func anUnknownModelIs404WithEveryModelListed() async throws {
        let a = ScriptedBackend(["x"], .refuse(.modelNotFound("nope", available: ["x"])))
        let b = ScriptedBackend(["y", "x"], .refuse(.modelNotFound("nope", available: ["y"])))
        let router = try RouterBackend(backends: [("a", a), ("b", b)])
        await #expect(throws: BackendError.modelNotFound("nope", available: ["x", "y"])) {
            _ = try await router.completion(CompletionRequest(model: "nope", prompts: [.text("hi")], parameters: GenerateParameters()))
        }
        #expect(await router.models().map(\.id) == ["x", "y"])
        #expect(await router.statistics().map(\.id) == ["x", "y", "x"])
    }

    @Test func anUnroutedModelGoesToTheBackendThatListsIt() async throws {
        let a = ScriptedBackend(["x"], .answer("a"))
        let b = ScriptedBackend(["y"], .answer("b"))
        let router = try RouterBackend(backends: [("a", a), ("b", b)])
        #expect(await drain(try await router.chat(chatRequest("y"))).texts == ["b"])
        #expect(a.requests == 0)
    }

    @Test func patternsAndRemoteNamePrefixesRoute() async throws {
        let local = ScriptedBackend(["qwen"], .answer("local"))
        let remote = ScriptedBackend([], .answer("remote"))
        let router = try RouterBackend(backends: [("local", local), ("vllm", remote)], routes: [Route(pattern: "big-*", backends: ["vllm", "local"])])
        #expect(await drain(try await router.chat(chatRequest("vllm/anything"))).texts == ["remote"])
        #expect(await drain(try await router.chat(chatRequest("big-model"))).texts == ["remote"])
        #expect(await drain(try await router.chat(chatRequest("qwen"))).texts == ["local"])
    }

    @Test func aRouteToAnUnknownBackendIsRefused() {
        #expect(throws: RouteError(pattern: "m", backend: "gpu", known: ["local"])) {
            _ = try RouterBackend(backends: [("local", ScriptedBackend([], .answer("")))], routes: [Route(pattern: "m", backends: ["gpu"])])
        }
    }

    // MARK: - With real remotes (fake servers on 127.0.0.1)

    @Test func aDownRemoteFallsBackToTheNextOne() async throws {
        let down = try FakeOpenAIServer.closedPortURL()
        let chunks = [FakeChunks.chat("fine"), FakeChunks.chatFinish("stop"), FakeChunks.usage(prompt: 3, completion: 1)]
        try await withFakeRemote({ _ in .events(chunks) }) { server in
            try await withRemote(RemoteConfiguration(name: "down", baseURL: down)) { first in
                try await withRemote(RemoteConfiguration(name: "up", baseURL: server.baseURL)) { second in
                    let router = try RouterBackend(backends: [("down", first), ("up", second)], routes: [Route(pattern: "m", backends: ["down", "up"])])
                    let out = await drain(try await router.chat(chatRequest("m")))
                    #expect(out.error == nil)
                    #expect(out.texts == ["fine"])
                    #expect(out.usage == BackendUsage(promptTokens: 3, completionTokens: 1))
                }
            }
        }
    }

    /// 5xx, 429, a silent remote (timeout), and a failure inside the stream before the first
    /// token all fall back; the answer then comes from the local backend.
    @Test(arguments: [
        FakeReply.json(status: 500, body: FakeChunks.error("boom", type: "server_error")),
        FakeReply.json(status: 429, body: FakeChunks.error("slow down", type: "rate_limit_error")),
        FakeReply.silent,
        FakeReply.drop,
        FakeReply.events([#"{"error":{"message":"engine died","type":"server_error","code":500}}"#]),
        FakeReply.events([FakeChunks.chatRole()], dropAfter: 1),
    ])
    func remoteFailuresBeforeTheFirstTokenFallBack(reply: FakeReply) async throws {
        let local = ScriptedBackend(["m"], .answer("local answer"))
        try await withFakeRemote({ _ in reply }) { server in
            try await withRemote(RemoteConfiguration(name: "gpu", baseURL: server.baseURL, idleTimeout: .milliseconds(300))) { remote in
                let router = try RouterBackend(backends: [("local", local), ("gpu", remote)], routes: [Route(pattern: "m", backends: ["gpu", "local"])])
                let out = await drain(try await router.chat(chatRequest("m")))
                #expect(out.error == nil)
                #expect(out.texts == ["local answer"])
                #expect(server.requests.count == 1)
            }
        }
    }

    @Test func aRemoteThatFailsMidAnswerIsNotRetried() async throws {
        let local = ScriptedBackend(["m"], .answer("local answer"))
        let chunks = [FakeChunks.chat("The an"), FakeChunks.chat("swer"), FakeChunks.chatFinish("stop")]
        try await withFakeRemote({ _ in .events(chunks, dropAfter: 1) }) { server in
            try await withRemote(RemoteConfiguration(name: "gpu", baseURL: server.baseURL)) { remote in
                let router = try RouterBackend(backends: [("local", local), ("gpu", remote)], routes: [Route(pattern: "*", backends: ["gpu", "local"])])
                let out = await drain(try await router.chat(chatRequest("m")))
                #expect(out.texts == ["The an"])
                #expect((out.error as? BackendError)?.httpStatus == 503)
                #expect(local.requests == 0)
            }
        }
    }

    @Test func theLastBackendsFailureIsReportedAsIs() async throws {
        try await withFakeRemote({ _ in .json(status: 400, body: FakeChunks.error("'messages' is empty.", param: "messages")) }) { server in
            try await withRemote(RemoteConfiguration(name: "gpu", baseURL: server.baseURL)) { remote in
                let router = try RouterBackend(backends: [("gpu", remote)], routes: [Route(pattern: "m", backends: ["gpu"])])
                await #expect(throws: BackendError.invalidRequest("'messages' is empty.", param: "messages")) {
                    _ = try await router.chat(chatRequest("m"))
                }
            }
        }
    }
}

@Suite struct ServerSentEventParserTests {
    @Test func eventsSplitAnywhereAreReassembled() throws {
        let text = "data: {\"a\":1}\r\n\r\n: keep-alive\n\ndata: line one\ndata: line two\n\nevent: x\ndata:[DONE]\n\n"
        let whole = try { var p = ServerSentEventParser(); return try p.feed(Array(text.utf8)) }()
        #expect(whole == ["{\"a\":1}", "line one\nline two", "[DONE]"])
        for cut in 0...text.utf8.count {
            var p = ServerSentEventParser()
            let bytes = Array(text.utf8)
            let events = try p.feed(bytes[..<cut]) + p.feed(bytes[cut...])
            #expect(events == whole, "cut at \(cut)")
        }
    }

    @Test func aLastEventWithoutItsBlankLineIsKept() throws {
        var p = ServerSentEventParser()
        #expect(try p.feed(Array("data: a\n\ndata: b".utf8)) == ["a"])
        #expect(p.finish() == "b")
        #expect(p.finish() == nil)
    }
}
