@testable import Backends
import ChatTemplates
import Foundation
import Inference
import NIOCore
import Testing

/// What a backend's stream delivered, gathered.
struct Drained {
    var texts: [String]
    var finish: [ChoiceFinishReason?]
    var usage: BackendUsage?
    var logprobs: [[TokenLogprobInfo]]
    var events: [BackendEvent] = []
    var error: (any Error)?
}

func drain(_ r: BackendResponse) async -> Drained {
    var d = Drained(texts: .init(repeating: "", count: r.choices), finish: .init(repeating: nil, count: r.choices), usage: nil,
                    logprobs: .init(repeating: [], count: r.choices))
    do {
        for try await e in r.events {
            d.events.append(e)
            if case let .text(c, t, lp, _) = e {
                d.texts[c] += t
                if let lp { d.logprobs[c].append(lp) }
            } else if case let .finish(c, reason) = e {
                d.finish[c] = reason
            } else if case let .usage(u) = e {
                d.usage = u
            }
        }
    } catch {
        d.error = error
    }
    return d
}

/// Runs `body` against a fake remote that answers with `reply`.
func withFakeRemote<T>(
    _ reply: @escaping @Sendable (FakeOpenAIServer.Received) -> FakeReply,
    _ body: (FakeOpenAIServer) async throws -> T
) async throws -> T {
    let server = FakeOpenAIServer(reply: reply)
    try server.start()
    defer { server.stop() }
    return try await body(server)
}

func withRemote<T>(_ configuration: RemoteConfiguration, _ body: (OpenAICompatibleBackend) async throws -> T) async throws -> T {
    let backend = OpenAICompatibleBackend(configuration)
    do {
        let result = try await body(backend)
        await backend.shutdown()
        return result
    } catch {
        await backend.shutdown()
        throw error
    }
}

let userMessage: [TemplateValue] = [["role": "user", "content": "Hi"]]

func chatRequest(_ model: String, n: Int = 1, parameters: GenerateParameters = GenerateParameters(temperature: 0.5, maxTokens: 8)) -> ChatRequest {
    ChatRequest(model: model, messages: userMessage, parameters: parameters, n: n)
}

@Suite struct RemoteBackendTests {
    @Test func chatStreamsTextFinishAndUsage() async throws {
        let chunks = [FakeChunks.chatRole(), FakeChunks.chat("Hel"), FakeChunks.chat("lo"), FakeChunks.chatFinish("stop"),
                      FakeChunks.usage(prompt: 5, completion: 2, cached: 1)]
        try await withFakeRemote({ _ in .events(chunks) }) { server in
            let config = RemoteConfiguration(name: "fake", baseURL: server.baseURL, apiKey: "sk-test", models: ["mine": "their/model"])
            try await withRemote(config) { remote in
                let r = try await remote.chat(chatRequest("mine"))
                #expect(r.model == "mine")
                let d = await drain(r)
                #expect(d.error == nil)
                #expect(d.texts == ["Hello"])
                #expect(d.finish == [.stop])
                #expect(d.usage == BackendUsage(promptTokens: 5, completionTokens: 2, cachedTokens: 1))
                #expect(d.events.last == .usage(BackendUsage(promptTokens: 5, completionTokens: 2, cachedTokens: 1)))
            }
            let sent = try #require(server.requests.first)
            #expect(sent.path == "/v1/chat/completions")
            #expect(sent.authorization == "Bearer sk-test")
            let body = try TemplateValue(jsonString: sent.body)
            guard case .object(let o) = body else { Issue.record("body is not an object"); return }
            #expect(o["model"] == "their/model")
            #expect(o["stream"] == true)
            #expect(o["stream_options"] == .object([("include_usage", true)]))
            #expect(o["max_tokens"] == 8)
            #expect(o["temperature"] == .double(0.5))
            #expect(o["messages"] == .array(userMessage))
            // Extensions left at Studio's defaults are not sent (strict servers reject them).
            #expect(o["top_k"] == nil && o["min_p"] == nil && o["repetition_penalty"] == nil)
        }
    }

    @Test func noUsageIsReportedWhenTheRemoteGivesNone() async throws {
        try await withFakeRemote({ _ in .events([FakeChunks.chat("ok"), FakeChunks.chatFinish("length")]) }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL)) { remote in
                let d = await drain(try await remote.chat(chatRequest("any")))
                #expect(d.error == nil)
                #expect(d.texts == ["ok"])
                #expect(d.finish == [.length])
                #expect(d.usage == nil)
            }
        }
    }

    @Test func nameOfTheRemoteIsStrippedFromTheModel() async throws {
        try await withFakeRemote({ _ in .events([FakeChunks.chatFinish("stop")]) }) { server in
            try await withRemote(RemoteConfiguration(name: "vllm", baseURL: server.baseURL)) { remote in
                _ = await drain(try await remote.chat(chatRequest("vllm/Qwen/Qwen2.5-7B")))
            }
            let body = try TemplateValue(jsonString: try #require(server.requests.first).body)
            guard case .object(let o) = body else { Issue.record("body is not an object"); return }
            #expect(o["model"] == "Qwen/Qwen2.5-7B")
        }
    }

    @Test func twoChoicesAndChatLogprobs() async throws {
        let lp0 = #"{"content":[{"token":"A","logprob":-0.5,"bytes":[65],"top_logprobs":[{"token":"A","logprob":-0.5,"bytes":[65]},{"token":"B","logprob":-1.5,"bytes":[66]}]},{"token":"b","logprob":-0.25,"bytes":[98],"top_logprobs":[]}]}"#
        let chunk0 = #"{"choices":[{"index":0,"delta":{"content":"Ab"},"logprobs":\#(lp0),"finish_reason":null}]}"#
        let chunks = [chunk0, FakeChunks.chat("x", index: 1), FakeChunks.chatFinish("stop", index: 1), FakeChunks.chatFinish("length", index: 0)]
        try await withFakeRemote({ _ in .events(chunks) }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL)) { remote in
                var p = GenerateParameters(topK: 5, minP: 0, maxTokens: 4)
                p.logprobs = true
                p.topLogprobs = 2
                let r = try await remote.chat(chatRequest("m", n: 2, parameters: p))
                #expect(r.choices == 2)
                let d = await drain(r)
                #expect(d.error == nil)
                #expect(d.texts == ["Ab", "x"])
                #expect(d.finish == [.length, .stop])
                // One event per token, each with its own text.
                #expect(d.events.prefix(2) == [
                    .text(choice: 0, text: "A", logprobs: TokenLogprobInfo(
                        chosen: TokenAlternative(token: "A", bytes: [65], logprob: -0.5),
                        top: [TokenAlternative(token: "A", bytes: [65], logprob: -0.5), TokenAlternative(token: "B", bytes: [66], logprob: -1.5)]),
                          tokens: 1),
                    .text(choice: 0, text: "b", logprobs: TokenLogprobInfo(
                        chosen: TokenAlternative(token: "b", bytes: [98], logprob: -0.25), top: []), tokens: 1),
                ])
            }
            let body = try TemplateValue(jsonString: try #require(server.requests.first).body)
            guard case .object(let o) = body else { Issue.record("body is not an object"); return }
            #expect(o["n"] == 2)
            #expect(o["top_k"] == 5)
            #expect(o["min_p"] == .double(0))
            #expect(o["logprobs"] == true)
            #expect(o["top_logprobs"] == 2)
        }
    }

    @Test func streamedToolCallsAreAssembledAndForwarded() async throws {
        let chunks = [
            #"{"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}"#,
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}"#,
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}"#,
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"now","arguments":"{}"}}]},"finish_reason":null}]}"#,
            FakeChunks.chatFinish("tool_calls"),
        ]
        let tools: [TemplateValue] = [["type": "function", "function": ["name": "get_weather", "parameters": ["type": "object"]]]]
        try await withFakeRemote({ _ in .events(chunks) }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL)) { remote in
                let request = ChatRequest(model: "m", messages: userMessage, tools: tools, parameters: GenerateParameters(),
                                          toolChoice: .function("get_weather"), parallelToolCalls: false)
                let d = await drain(try await remote.chat(request))
                #expect(d.error == nil)
                // Passed on as they come: a call starts with its first arguments, fragments follow.
                #expect(d.events == [
                    .toolCall(choice: 0, index: 0, call: ToolCall(id: "call_1", name: "get_weather", arguments: #"{"city":"#)),
                    .toolCall(choice: 0, index: 0, call: ToolCall(id: "call_1", name: "get_weather", arguments: #""Paris"}"#)),
                    .toolCall(choice: 0, index: 1, call: ToolCall(id: "call_2", name: "now", arguments: "{}")),
                    .finish(choice: 0, reason: .toolCalls),
                ])
            }
            let body = try TemplateValue(jsonString: try #require(server.requests.first).body)
            guard case .object(let o) = body else { Issue.record("body is not an object"); return }
            #expect(o["tools"] == .array(tools))
            #expect(o["tool_choice"] == .object([("type", "function"), ("function", .object([("name", "get_weather")]))]))
            #expect(o["parallel_tool_calls"] == false)
        }
    }

    /// A call that never gets arguments is announced when the next call appears (or its choice
    /// ends), so calls are always announced in order.
    @Test func callsWithoutArgumentsAreAnnouncedInOrder() async throws {
        let chunks = [
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"now","arguments":""}}]},"finish_reason":null}]}"#,
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}"#,
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]},"finish_reason":null}]}"#,
            #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":2,"id":"call_c","type":"function","function":{"name":"now"}}]},"finish_reason":null}]}"#,
            FakeChunks.chatFinish("tool_calls"),
        ]
        try await withFakeRemote({ _ in .events(chunks) }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL)) { remote in
                let d = await drain(try await remote.chat(chatRequest("m")))
                #expect(d.events == [
                    .toolCall(choice: 0, index: 0, call: ToolCall(id: "call_a", name: "now", arguments: "")),
                    .toolCall(choice: 0, index: 1, call: ToolCall(id: "call_b", name: "get_weather", arguments: "{}")),
                    .toolCall(choice: 0, index: 2, call: ToolCall(id: "call_c", name: "now", arguments: "")),
                    .finish(choice: 0, reason: .toolCalls),
                ])
            }
        }
    }

    @Test func completionWithLegacyLogprobsAndSeveralPrompts() async throws {
        let logprobs = #"{"tokens":["He","y"],"token_logprobs":[-0.1,-0.2],"top_logprobs":[{"He":-0.1,"Hi":-2.0},{"y":-0.2}],"text_offset":[0,2]}"#
        let chunk = #"{"choices":[{"index":1,"text":"Hey","logprobs":\#(logprobs),"finish_reason":null}]}"#
        let chunks = [FakeChunks.completion("A", index: 0, finish: "length"), chunk, FakeChunks.completion("", index: 1, finish: "stop")]
        try await withFakeRemote({ _ in .events(chunks) }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL)) { remote in
                var p = GenerateParameters(maxTokens: 16)
                p.logprobs = true
                p.topLogprobs = 2
                let r = try await remote.completion(CompletionRequest(model: "m", prompts: [.text("a"), .tokens([1, 2])], parameters: p))
                #expect(r.choices == 2)
                let d = await drain(r)
                #expect(d.error == nil)
                #expect(d.texts == ["A", "Hey"])
                #expect(d.finish == [.length, .stop])
                #expect(d.logprobs[1].map(\.chosen.token) == ["He", "y"])
                #expect(d.logprobs[1].first?.top.map(\.token) == ["He", "Hi"])
            }
            let sent = try #require(server.requests.first)
            #expect(sent.path == "/v1/completions")
            let body = try TemplateValue(jsonString: sent.body)
            guard case .object(let o) = body else { Issue.record("body is not an object"); return }
            #expect(o["prompt"] == .array(["a", .array([1, 2])]))
            #expect(o["logprobs"] == 2)
        }
    }

    /// llama-server sends completion logprobs in the chat shape (`content` entries).
    @Test func completionLogprobsInTheChatShape() async throws {
        let lp = #"{"content":[{"id":7042,"token":" Paris","bytes":[32,80,97,114,105,115],"logprob":-0.25,"top_logprobs":[{"id":7042,"token":" Paris","bytes":[32,80,97,114,105,115],"logprob":-0.25},{"id":260,"token":" the","bytes":[32,116,104,101],"logprob":-2.75}]}]}"#
        let chunks = [#"{"choices":[{"text":" Paris","index":0,"logprobs":\#(lp),"finish_reason":null}],"object":"text_completion"}"#,
                      FakeChunks.completion("", finish: "length")]
        try await withFakeRemote({ _ in .events(chunks) }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL)) { remote in
                var p = GenerateParameters(maxTokens: 1)
                p.logprobs = true
                p.topLogprobs = 2
                let d = await drain(try await remote.completion(CompletionRequest(model: "m", prompts: [.text("The capital of France is")], parameters: p)))
                #expect(d.error == nil)
                #expect(d.texts == [" Paris"])
                #expect(d.logprobs[0].map(\.chosen.logprob) == [-0.25])
                #expect(d.logprobs[0].first?.top.map(\.token) == [" Paris", " the"])
            }
        }
    }

    /// An echoing remote's legacy logprobs start with the prompt's first token, whose logprob and
    /// alternatives are null: it stays in the list, unscored.
    @Test func anEchoedPromptsUnscoredFirstTokenIsKept() async throws {
        let lp = #"{"tokens":["The"," capital"," Paris"],"token_logprobs":[null,-1.5,-0.25],"top_logprobs":[null,{" capital":-1.5},{" Paris":-0.25}],"text_offset":[0,3,11]}"#
        let chunks = [#"{"choices":[{"text":"The capital Paris","index":0,"logprobs":\#(lp),"finish_reason":"length"}],"object":"text_completion"}"#]
        try await withFakeRemote({ _ in .events(chunks) }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL)) { remote in
                var p = GenerateParameters(maxTokens: 1)
                p.logprobs = true
                p.topLogprobs = 1
                let d = await drain(try await remote.completion(
                    CompletionRequest(model: "m", prompts: [.text("The capital")], parameters: p, echo: true)))
                #expect(d.error == nil)
                #expect(d.texts == ["The capital Paris"])
                #expect(d.logprobs[0].map(\.chosen.token) == ["The", " capital", " Paris"])
                #expect(d.logprobs[0].map(\.scored) == [false, true, true])
                #expect(d.logprobs[0].map(\.chosen.logprob).dropFirst() == [-1.5, -0.25])
            }
        }
    }

    @Test func aWholeJSONAnswerIsAcceptedFromARemoteThatDoesNotStream() async throws {
        try await withFakeRemote({ _ in .json(status: 200, body: FakeChunks.chatAnswer("Hello there")) }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL)) { remote in
                let d = await drain(try await remote.chat(chatRequest("m")))
                #expect(d.error == nil)
                #expect(d.texts == ["Hello there"])
                #expect(d.finish == [.stop])
                #expect(d.usage == BackendUsage(promptTokens: 5, completionTokens: 2))
            }
        }
    }

    /// Each refusal keeps the remote's message; 4xx stays the caller's, 5xx is a backend failure.
    @Test(arguments: [
        (400, FakeChunks.error("'temperature' is bad.", param: "temperature"), 400),
        (400, FakeChunks.error("This model's maximum context length is 2048 tokens.", code: "context_length_exceeded"), 400),
        (404, FakeChunks.error("The model 'm' does not exist.", code: "model_not_found"), 404),
        (429, FakeChunks.error("Too many requests.", type: "rate_limit_error"), 429),
        (500, FakeChunks.error("CUDA out of memory.", type: "server_error"), 500),
        (503, #"{"error":"overloaded"}"#, 503),
        (401, FakeChunks.error("Invalid API key."), 503),
    ])
    func remoteRefusalsKeepTheirMeaning(status: Int, body: String, expected: Int) async throws {
        try await withFakeRemote({ _ in .json(status: status, body: body, headers: [("Retry-After", "7")]) }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL)) { remote in
                do {
                    _ = try await remote.chat(chatRequest("m"))
                    Issue.record("HTTP \(status) was accepted")
                } catch let error as BackendError {
                    #expect(error.httpStatus == expected, "\(error)")
                    if status != 404 {
                        let message = ErrorDetail(body).message ?? ""
                        #expect(error.description.contains(message), "\(error)")
                    }
                    if status == 400 && body.contains("temperature") { #expect(error.param == "temperature") }
                    if status == 429 { #expect(error == .busy(error.description, retryAfterSeconds: 7)) }
                }
            }
        }
    }

    @Test func aRefusedConnectionIsABackendFailure() async throws {
        let url = try FakeOpenAIServer.closedPortURL()
        try await withRemote(RemoteConfiguration(name: "down", baseURL: url)) { remote in
            await #expect(throws: BackendError.self) { _ = try await remote.chat(chatRequest("m")) }
            do {
                _ = try await remote.chat(chatRequest("m"))
            } catch let error as BackendError {
                #expect(error.httpStatus == 503)
                #expect(error.description == "The remote 'down' at \(url) cannot be reached: connection refused.")
            }
        }
    }

    @Test func aDroppedConnectionEndsTheStreamWithAnError() async throws {
        let chunks = [FakeChunks.chat("Hel"), FakeChunks.chat("lo"), FakeChunks.chatFinish("stop")]
        try await withFakeRemote({ _ in .events(chunks, dropAfter: 1) }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL)) { remote in
                let d = await drain(try await remote.chat(chatRequest("m")))
                #expect(d.texts == ["Hel"])
                let error = try #require(d.error as? BackendError)
                #expect(error.httpStatus >= 500)
            }
        }
    }

    @Test func aSilentRemoteTimesOut() async throws {
        try await withFakeRemote({ _ in .silent }) { server in
            let config = RemoteConfiguration(name: "slow", baseURL: server.baseURL, idleTimeout: .milliseconds(300))
            try await withRemote(config) { remote in
                do {
                    _ = try await remote.chat(chatRequest("m"))
                    Issue.record("a silent remote was accepted")
                } catch let error as BackendError {
                    #expect(error.httpStatus == 503)
                    #expect(error.description == "The remote 'slow' sent nothing for 300 ms.")
                }
            }
        }
    }

    @Test func aStreamThatStallsMidwayTimesOut() async throws {
        let chunks = [FakeChunks.chat("a"), FakeChunks.chat("b"), FakeChunks.chatFinish("stop")]
        try await withFakeRemote({ _ in .events(chunks, delay: .seconds(5)) }) { server in
            let config = RemoteConfiguration(name: "slow", baseURL: server.baseURL, idleTimeout: .milliseconds(300))
            try await withRemote(config) { remote in
                let d = await drain(try await remote.chat(chatRequest("m")))
                #expect(d.texts == ["a"])
                #expect((d.error as? BackendError)?.httpStatus == 503)
            }
        }
    }

    /// A consumer that stops reading (the client went away) closes the connection, which is how
    /// vLLM, llama-server and Ollama learn to stop generating.
    @Test func cancellingTheAnswerClosesTheRemoteConnection() async throws {
        let chunks = (0..<100).map { FakeChunks.chat("t\($0) ") }
        try await withFakeRemote({ _ in .events(chunks, delay: .milliseconds(50)) }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL)) { remote in
                let r = try await remote.chat(chatRequest("m"))
                for try await event in r.events {
                    #expect(event == .text(choice: 0, text: "t0 ", logprobs: nil, tokens: 1))
                    break
                }
                r.cancel()
                // Waits for the close, bounded by a generous deadline (a loaded machine running the
                // whole suite can starve this task for seconds), so a failure ends instead of hanging.
                let deadline = ContinuousClock.now + .seconds(120)
                while server.closedConnections == 0 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(server.closedConnections == 1)
            }
        }
    }

    @Test func anErrorEventInTheStreamIsThrown() async throws {
        let chunks = [FakeChunks.chat("a"), #"{"error":{"message":"the engine crashed","type":"server_error","code":500}}"#]
        try await withFakeRemote({ _ in .events(chunks) }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL)) { remote in
                let d = await drain(try await remote.chat(chatRequest("m")))
                #expect(d.texts == ["a"])
                let error = try #require(d.error as? BackendError)
                #expect(error.httpStatus == 500)
                #expect(error.description.contains("the engine crashed"))
            }
        }
    }

    /// A remote that names a choice that was not asked for gets an error, not a crash.
    @Test func aChoiceOutOfRangeIsAnError() async throws {
        try await withFakeRemote({ _ in .events([FakeChunks.chat("x", index: 3)]) }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL)) { remote in
                let d = await drain(try await remote.chat(chatRequest("m")))
                #expect(d.texts == [""])
                #expect((d.error as? BackendError)?.httpStatus == 500)
            }
        }
    }

    @Test func modelsComeFromTheRemoteAndAreCached() async throws {
        try await withFakeRemote({ _ in .json(status: 200, body: FakeChunks.models(["a", "b/c"])) }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL, modelListLifetime: .seconds(60))) { remote in
                #expect(await remote.models().map(\.id) == ["a", "b/c"])
                #expect(await remote.models().map(\.id) == ["a", "b/c"])
                #expect(await remote.models().first?.ownedBy == "fake")
            }
            #expect(server.requests.map(\.path) == ["/v1/models"])
        }
    }

    @Test func configuredNamesAreListedAndOthersRefused() async throws {
        try await withRemote(RemoteConfiguration(name: "fake", baseURL: "http://127.0.0.1:9/v1", models: ["x": "remote-x"])) { remote in
            #expect(await remote.models().map(\.id) == ["x"])
            do {
                _ = try await remote.chat(chatRequest("y"))
                Issue.record("an unconfigured model was accepted")
            } catch let error as BackendError {
                #expect(error == .modelNotFound("y", available: ["x"]))
            }
        }
    }

    @Test func aDownRemoteListsNoModelsQuickly() async throws {
        let url = try FakeOpenAIServer.closedPortURL()
        try await withRemote(RemoteConfiguration(name: "down", baseURL: url)) { remote in
            #expect(await remote.models().isEmpty)
        }
    }
}
