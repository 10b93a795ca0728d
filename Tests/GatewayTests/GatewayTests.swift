import Backends
import ChatTemplates
import Foundation
import Gateway
import Hummingbird
import HummingbirdTesting
import Inference
import Synchronization
import Testing

/// A deterministic backend: each choice streams the words of the last message (or the prompt)
/// back, one "token" per word, up to max_tokens. Model "busy" refuses with 429, "broken" fails
/// mid-stream. It records the last request so tests can check how fields were mapped.
private final class EchoBackend: ChatBackend {
    let lastChat = Mutex<ChatRequest?>(nil)
    let lastCompletion = Mutex<CompletionRequest?>(nil)

    func models() async -> [BackendModel] {
        [BackendModel(id: "echo", created: 1_700_000_000), BackendModel(id: "echo-2", created: 1_700_000_001)]
    }

    func chat(_ request: ChatRequest) async throws -> BackendResponse {
        lastChat.withLock { $0 = request }
        guard case .object(let last)? = request.messages.last, case .string(let text)? = last["content"] else {
            throw BackendError.invalidRequest("no text", param: "messages")
        }
        return try respond(model: request.model, texts: [text], parameters: request.parameters, n: request.n)
    }

    func completion(_ request: CompletionRequest) async throws -> BackendResponse {
        lastCompletion.withLock { $0 = request }
        let texts = request.prompts.map { p -> String in
            switch p {
            case .text(let s): s
            case .tokens(let ids): ids.map(String.init).joined(separator: " ")
            }
        }
        return try respond(model: request.model, texts: texts, parameters: request.parameters, n: request.n)
    }

    func statistics() async -> [BackendModelStats] {
        [BackendModelStats(id: "echo", queued: 2, active: 1, slots: 4, cacheTokensUsed: 10, cacheTokensCapacity: 100,
                           ticks: 12, forwardSeconds: 0.5, evaluatedTokens: 40)]
    }

    private func respond(model: String, texts: [String], parameters: GenerateParameters, n: Int) throws -> BackendResponse {
        switch model {
        case "echo", "echo-2", "broken": break
        case "busy": throw BackendError.busy("The server is busy.", retryAfterSeconds: 3)
        default: throw BackendError.modelNotFound(model, available: ["echo", "echo-2"])
        }
        let (stream, c) = AsyncThrowingStream<BackendEvent, any Error>.makeStream()
        var completion = 0
        for (p, text) in texts.enumerated() {
            let words = text.split(separator: " ").map(String.init)
            for i in 0..<n {
                let choice = p * n + i
                let limit = parameters.maxTokens ?? Int.max
                let emitted = Array(words.prefix(limit))
                for (k, w) in emitted.enumerated() {
                    let piece = (k == 0 ? "" : " ") + w
                    let info = parameters.logprobs
                        ? TokenLogprobInfo(
                            chosen: TokenAlternative(token: piece, bytes: Array(piece.utf8), logprob: -0.5),
                            top: (0..<parameters.topLogprobs).map { _ in TokenAlternative(token: piece, bytes: Array(piece.utf8), logprob: -0.5) })
                        : nil
                    c.yield(.text(choice: choice, text: piece, logprobs: info, tokens: 1))
                }
                completion += emitted.count
                if model == "broken" {
                    c.finish(throwing: BackendError.internalError("the model broke"))
                    return BackendResponse(model: model, choices: texts.count * n, promptTokens: [1], events: stream)
                }
                c.yield(.finish(choice: choice, reason: words.count > limit ? .length : .stop))
            }
        }
        let prompt = texts.reduce(0) { $0 + $1.split(separator: " ").count }
        c.yield(.usage(BackendUsage(promptTokens: prompt, completionTokens: completion, cachedTokens: 0)))
        c.finish()
        return BackendResponse(model: model, choices: texts.count * n, promptTokens: [prompt], events: stream)
    }
}

private func json(_ response: TestResponse) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8))
    return try #require(object as? [String: Any])
}

private func body(_ object: [String: Any]) throws -> ByteBuffer {
    ByteBuffer(data: try JSONSerialization.data(withJSONObject: object))
}

private func post(_ client: some TestClientProtocol, _ uri: String, _ object: [String: Any], headers: HTTPFields = [:]) async throws -> TestResponse {
    var h = headers
    h[.contentType] = "application/json"
    return try await client.execute(uri: uri, method: .post, headers: h, body: try body(object))
}

/// The `data:` payloads of an SSE body.
private func events(_ response: TestResponse) -> [String] {
    String(buffer: response.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { chunk in
        chunk.hasPrefix("data: ") ? String(chunk.dropFirst(6)) : "NOT-SSE: " + chunk
    }
}

private func errorOf(_ response: TestResponse) throws -> [String: Any] {
    try #require(try json(response)["error"] as? [String: Any])
}

private func app(_ backend: EchoBackend = EchoBackend(), apiKey: String? = nil) -> some ApplicationProtocol {
    Application(router: Gateway.router(backend: backend, apiKey: apiKey))
}

private var hello: [String: Any] { ["model": "echo", "messages": [["role": "user", "content": "hello there world"]]] }

@Suite struct GatewayRouteTests {
    @Test func healthAndModels() async throws {
        try await app().test(.router) { client in
            let health = try await client.execute(uri: "/health", method: .get)
            #expect(health.status == .ok)
            #expect(try json(health)["status"] as? String == "ok")

            let models = try await client.execute(uri: "/v1/models", method: .get)
            #expect(models.status == .ok)
            let list = try json(models)
            #expect(list["object"] as? String == "list")
            let data = try #require(list["data"] as? [[String: Any]])
            #expect(data.map { $0["id"] as? String } == ["echo", "echo-2"])
            #expect(data[0]["object"] as? String == "model")
            #expect(data[0]["created"] as? Int == 1_700_000_000)
            #expect(data[0]["owned_by"] as? String == "studio")

            let one = try await client.execute(uri: "/v1/models/echo-2", method: .get)
            #expect(try json(one)["id"] as? String == "echo-2")
            let missing = try await client.execute(uri: "/v1/models/nope", method: .get)
            #expect(missing.status == .notFound)
            #expect(try errorOf(missing)["code"] as? String == "model_not_found")
        }
    }

    @Test func chatCompletionShape() async throws {
        try await app().test(.router) { client in
            let r = try await post(client, "/v1/chat/completions", hello)
            #expect(r.status == .ok)
            #expect(r.headers[.contentType] == "application/json")
            let o = try json(r)
            #expect((o["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            #expect(o["object"] as? String == "chat.completion")
            #expect((o["created"] as? Int ?? 0) > 1_700_000_000)
            #expect(o["model"] as? String == "echo")
            let choices = try #require(o["choices"] as? [[String: Any]])
            #expect(choices.count == 1)
            #expect(choices[0]["index"] as? Int == 0)
            let message = try #require(choices[0]["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")
            #expect(message["content"] as? String == "hello there world")
            #expect(choices[0]["finish_reason"] as? String == "stop")
            #expect(choices[0]["logprobs"] is NSNull)
            let usage = try #require(o["usage"] as? [String: Any])
            #expect(usage["prompt_tokens"] as? Int == 3)
            #expect(usage["completion_tokens"] as? Int == 3)
            #expect(usage["total_tokens"] as? Int == 6)
        }
    }

    @Test func chatParametersAreMapped() async throws {
        let backend = EchoBackend()
        try await app(backend).test(.router) { client in
            var request = hello
            request["temperature"] = 0.25
            request["top_p"] = 0.5
            request["top_k"] = 7
            request["min_p"] = 0.1
            request["seed"] = 42
            request["max_completion_tokens"] = 2
            request["max_tokens"] = 9  // the newer name wins
            request["stop"] = "END"
            request["presence_penalty"] = 0.5
            request["frequency_penalty"] = -0.5
            request["logit_bias"] = ["15": -100, "7": 3]
            request["user"] = "someone"
            request["some_future_field"] = ["nested": true]
            request["n"] = 2
            let r = try await post(client, "/v1/chat/completions", request)
            #expect(r.status == .ok)
            let p = try #require(backend.lastChat.withLock { $0 }).parameters
            #expect(p.temperature == 0.25)
            #expect(p.topP == 0.5)
            #expect(p.topK == 7)
            #expect(p.minP == 0.1)
            #expect(p.seed == 42)
            #expect(p.maxTokens == 2)
            #expect(p.stop == ["END"])
            #expect(p.presencePenalty == 0.5)
            #expect(p.frequencyPenalty == -0.5)
            #expect(p.logitBias == [15: -.infinity, 7: 3])
            let choices = try #require(try json(r)["choices"] as? [[String: Any]])
            #expect(choices.map { $0["index"] as? Int } == [0, 1])
            #expect(choices.map { $0["finish_reason"] as? String } == ["length", "length"])
            #expect((choices[1]["message"] as? [String: Any])?["content"] as? String == "hello there")

            request["stop"] = ["a", "b"]
            _ = try await post(client, "/v1/chat/completions", request)
            #expect(backend.lastChat.withLock { $0 }?.parameters.stop == ["a", "b"])
        }
    }

    @Test func chatStreamingWithUsageAndLogprobs() async throws {
        try await app().test(.router) { client in
            var request = hello
            request["stream"] = true
            request["stream_options"] = ["include_usage": true]
            request["logprobs"] = true
            request["top_logprobs"] = 2
            let r = try await post(client, "/v1/chat/completions", request)
            #expect(r.status == .ok)
            #expect(r.headers[.contentType] == "text/event-stream")
            let data = events(r)
            #expect(data.last == "[DONE]")
            let chunks = try data.dropLast().map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            #expect(Set(chunks.compactMap { $0["id"] as? String }).count == 1)
            let first = try #require((chunks[0]["choices"] as? [[String: Any]])?.first)
            #expect((first["delta"] as? [String: Any])?["role"] as? String == "assistant")
            var text = ""
            var finish: String?
            for chunk in chunks.dropFirst() {
                guard let choice = (chunk["choices"] as? [[String: Any]])?.first else { continue }
                if let content = (choice["delta"] as? [String: Any])?["content"] as? String {
                    text += content
                    let lp = try #require((choice["logprobs"] as? [String: Any])?["content"] as? [[String: Any]])
                    #expect(lp[0]["token"] as? String == content)
                    #expect(lp[0]["logprob"] as? Double == -0.5)
                    #expect((lp[0]["bytes"] as? [Int]) == Array(content.utf8).map(Int.init))
                    #expect((lp[0]["top_logprobs"] as? [[String: Any]])?.count == 2)
                }
                if let f = choice["finish_reason"] as? String { finish = f }
            }
            #expect(text == "hello there world")
            #expect(finish == "stop")
            let last = try #require(chunks.last)
            #expect((last["choices"] as? [Any])?.isEmpty == true)
            #expect((last["usage"] as? [String: Any])?["total_tokens"] as? Int == 6)
            // Every earlier chunk carries "usage": null when include_usage is set.
            #expect(chunks.dropLast().allSatisfy { $0["usage"] is NSNull })

            request["stream_options"] = nil
            let plain = events(try await post(client, "/v1/chat/completions", request))
            #expect(plain.last == "[DONE]")
            #expect(!plain.contains { $0.contains("\"usage\"") })
        }
    }

    @Test func completionsShapeAndStreaming() async throws {
        let backend = EchoBackend()
        try await app(backend).test(.router) { client in
            let r = try await post(client, "/v1/completions", ["model": "echo", "prompt": "one two three", "max_tokens": 2, "logprobs": 1])
            #expect(r.status == .ok)
            let o = try json(r)
            #expect((o["id"] as? String)?.hasPrefix("cmpl-") == true)
            #expect(o["object"] as? String == "text_completion")
            let choice = try #require((o["choices"] as? [[String: Any]])?.first)
            #expect(choice["text"] as? String == "one two")
            #expect(choice["finish_reason"] as? String == "length")
            let lp = try #require(choice["logprobs"] as? [String: Any])
            #expect(lp["tokens"] as? [String] == ["one", " two"])
            #expect(lp["token_logprobs"] as? [Double] == [-0.5, -0.5])
            #expect(lp["text_offset"] as? [Int] == [0, 3])
            #expect((lp["top_logprobs"] as? [[String: Double]])?.count == 2)

            // Token-id prompts and several prompts; the default max_tokens is 16.
            _ = try await post(client, "/v1/completions", ["model": "echo", "prompt": [1, 2, 3]])
            let req = try #require(backend.lastCompletion.withLock { $0 })
            #expect(req.prompts == [.tokens([1, 2, 3])])
            #expect(req.parameters.maxTokens == 16)
            let many = try json(try await post(client, "/v1/completions", ["model": "echo", "prompt": ["a b", "c d"], "n": 2]))
            #expect((many["choices"] as? [[String: Any]])?.map { $0["text"] as? String } == ["a b", "a b", "c d", "c d"])

            let s = try await post(client, "/v1/completions", ["model": "echo", "prompt": "x y", "stream": true])
            let data = events(s)
            #expect(data.last == "[DONE]")
            let texts = try data.dropLast().compactMap { d -> String? in
                let o = try #require(JSONSerialization.jsonObject(with: Data(d.utf8)) as? [String: Any])
                #expect(o["object"] as? String == "text_completion")
                return (o["choices"] as? [[String: Any]])?.first?["text"] as? String
            }
            #expect(texts.joined() == "x y")
        }
    }

    @Test func wrongTypesNameTheParameter() async throws {
        try await app().test(.router) { client in
        let cases: [(String, Any, String)] = [
            ("temperature", "hot", "temperature"),
            ("n", "2", "n"),
            ("stop", 5, "stop"),
            ("messages", "hi", "messages"),
            ("logit_bias", "x", "logit_bias"),
            ("stream", "yes", "stream"),
            ("max_tokens", 1.5, "max_tokens"),
            ("seed", "s", "seed"),
            ("top_logprobs", true, "top_logprobs"),
            ("stream_options", ["include_usage": "y"], "stream_options.include_usage"),
            ("model", 7, "model"),
        ]
            for (field, value, param) in cases {
                var request = hello
                request[field] = value
                let r = try await post(client, "/v1/chat/completions", request)
                #expect(r.status == .badRequest, "\(field)")
                let e = try errorOf(r)
                #expect(e["param"] as? String == param, "\(field)")
                #expect(e["type"] as? String == "invalid_request_error")
                #expect((e["message"] as? String)?.contains(param) == true, "\(field)")
            }
        }
    }

    @Test func outOfRangeAndMissingValues() async throws {
        try await app().test(.router) { client in
        let cases: [(String, Any, String)] = [
            ("temperature", 3, "temperature"), ("top_p", 0, "top_p"), ("n", 0, "n"), ("n", 1000, "n"),
            ("max_tokens", 0, "max_tokens"), ("presence_penalty", 5, "presence_penalty"),
            ("top_logprobs", 3, "top_logprobs"), ("logit_bias", ["abc": 1], "logit_bias"),
            ("messages", [], "messages"), ("messages", [["content": "no role"]], "messages[0].role"),
        ]
            for (field, value, param) in cases {
                var request = hello
                request[field] = value
                let r = try await post(client, "/v1/chat/completions", request)
                #expect(r.status == .badRequest, "\(field)=\(value)")
                #expect(try errorOf(r)["param"] as? String == param, "\(field)=\(value)")
            }
            let noModel = try await post(client, "/v1/chat/completions", ["messages": hello["messages"]!])
            #expect(noModel.status == .badRequest)
            #expect(try errorOf(noModel)["param"] as? String == "model")
            let noPrompt = try await post(client, "/v1/completions", ["model": "echo"])
            #expect(try errorOf(noPrompt)["param"] as? String == "prompt")
        }
    }

    @Test func badBodies() async throws {
        try await app().test(.router) { client in
            let h: HTTPFields = [.contentType: "application/json"]
            for raw in ["{bad", "", "[1, 2]", "\"text\"", "{\"model\": \"echo\",}", String(repeating: "[", count: 100_000)] {
                let r = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: h, body: ByteBuffer(string: raw))
                #expect(r.status == .badRequest, "\(raw.prefix(20))")
                #expect(try errorOf(r)["type"] as? String == "invalid_request_error")
            }
            var invalid = ByteBuffer(string: "{\"model\": \"echo\", \"messages\": [{\"role\": \"user\", \"content\": \"")
            invalid.writeBytes([0xFF, 0xFE, 0xC3])
            invalid.writeString("\"}]}")
            let utf8 = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: h, body: invalid)
            #expect(utf8.status == .badRequest)
            #expect((try errorOf(utf8)["message"] as? String)?.contains("UTF-8") == true)

            let big = ByteBuffer(repeating: UInt8(ascii: " "), count: Gateway.maxBodyBytes + 1)
            let tooLarge = try await client.execute(uri: "/v1/chat/completions", method: .post, headers: h, body: big)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(try errorOf(tooLarge)["code"] as? String == "request_too_large")

            let unknown = try await client.execute(uri: "/v1/engines", method: .get)
            #expect(unknown.status == .notFound)
            #expect(try errorOf(unknown)["message"] as? String == "Invalid URL (GET /v1/engines).")
        }
    }

    @Test func backendErrorsMapToOpenAIStatuses() async throws {
        try await app().test(.router) { client in
            var request = hello
            request["model"] = "nope"
            let missing = try await post(client, "/v1/chat/completions", request)
            #expect(missing.status == .notFound)
            let e = try errorOf(missing)
            #expect(e["code"] as? String == "model_not_found")
            #expect(e["param"] as? String == "model")
            #expect(e.keys.sorted() == ["code", "message", "param", "type"])

            request["model"] = "busy"
            let busy = try await post(client, "/v1/chat/completions", request)
            #expect(busy.status == .tooManyRequests)
            #expect(busy.headers[.retryAfter] == "3")
            #expect(try errorOf(busy)["type"] as? String == "rate_limit_error")

            // An error after the stream started is sent as an SSE error event, then [DONE].
            request["model"] = "broken"
            request["stream"] = true
            let broken = try await post(client, "/v1/chat/completions", request)
            #expect(broken.status == .ok)
            let data = events(broken)
            #expect(data.last == "[DONE]")
            #expect(data.dropLast().last?.contains("\"server_error\"") == true)
        }
    }

    @Test func apiKeyIsRequiredOnV1Only() async throws {
        try await app(apiKey: "sk-test").test(.router) { client in
            let none = try await post(client, "/v1/chat/completions", hello)
            #expect(none.status == .unauthorized)
            #expect(try errorOf(none)["code"] as? String == "missing_api_key")
            let wrong = try await post(client, "/v1/chat/completions", hello, headers: [.authorization: "Bearer sk-nope"])
            #expect(wrong.status == .unauthorized)
            #expect(try errorOf(wrong)["code"] as? String == "invalid_api_key")
            let right = try await post(client, "/v1/chat/completions", hello, headers: [.authorization: "Bearer sk-test"])
            #expect(right.status == .ok)
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
        }
    }

    @Test func metricsExposition() async throws {
        try await app().test(.router) { client in
            _ = try await post(client, "/v1/chat/completions", hello)
            var request = hello
            request["model"] = "nope"
            _ = try await post(client, "/v1/chat/completions", request)
            let r = try await client.execute(uri: "/metrics", method: .get)
            #expect(r.status == .ok)
            #expect(r.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = String(buffer: r.body)
            #expect(text.contains("studio_requests_total{path=\"/v1/chat/completions\",status=\"200\"} 1"))
            #expect(text.contains("studio_requests_total{path=\"/v1/chat/completions\",status=\"404\"} 1"))
            #expect(text.contains("studio_prompt_tokens_total 3"))
            #expect(text.contains("studio_completion_tokens_total 3"))
            #expect(text.contains("# TYPE studio_time_to_first_token_seconds histogram"))
            #expect(text.contains("studio_request_duration_seconds_count 1"))
            #expect(text.contains("studio_queue_depth{model=\"echo\"} 2"))
            #expect(text.contains("studio_active_sequences{model=\"echo\"} 1"))
            #expect(text.contains("studio_kv_cache_usage_ratio{model=\"echo\"} 0.1"))
            #expect(text.contains("studio_scheduler_ticks_total{model=\"echo\"} 12"))
            #expect(text.contains("studio_forward_seconds_total{model=\"echo\"} 0.5"))
            #expect(text.contains("studio_evaluated_tokens_total{model=\"echo\"} 40"))
        }
    }
}
