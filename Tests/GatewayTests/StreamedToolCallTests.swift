@testable import Backends
import ChatTemplates
import Foundation
import Gateway
import Hummingbird
import HummingbirdTesting
import Testing

/// Writes a fixed model output a few characters per token through the tool-call parser, as the
/// local engine does for a request with tools.
private struct ScriptedToolBackend: ChatBackend {
    static let output = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>\n"
        + "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Tokyo\"}}\n</tool_call>"

    func models() async -> [BackendModel] { [BackendModel(id: "tools", created: 1_700_000_000, loaded: true)] }
    func statistics() async -> [BackendModelStats] { [] }
    func completion(_ request: CompletionRequest) async throws -> BackendResponse {
        throw BackendError.invalidRequest("chat only", param: nil)
    }

    func chat(_ request: ChatRequest) async throws -> BackendResponse {
        let (stream, continuation) = AsyncThrowingStream<BackendEvent, any Error>.makeStream()
        var output = ChoiceOutput(choice: 0, toolNames: ["get_weather"], continuation: continuation)
        var rest = Substring(Self.output)
        var tokens = 0
        while !rest.isEmpty {
            output.text(String(rest.prefix(4)), logprobs: nil, tokens: 1)
            rest = rest.dropFirst(4)
            tokens += 1
        }
        output.finish(.stop)
        continuation.yield(.usage(BackendUsage(promptTokens: 3, completionTokens: tokens)))
        continuation.finish()
        return BackendResponse(model: request.model, choices: 1, promptTokens: [3], events: stream)
    }
}

@Suite struct StreamedToolCallTests {
    static var request: [String: Any] { [
        "model": "tools", "messages": [["role": "user", "content": "Weather in Paris and Tokyo?"]],
        "tools": [["type": "function", "function": ["name": "get_weather", "parameters": ["type": "object"]]]],
    ] }

    /// Streamed, each call opens with index, id, type, name and empty arguments (OpenAI's first
    /// chunk), then its arguments arrive in several fragments carrying only the index; joined,
    /// they are exactly the non-streamed arguments.
    @Test func argumentsArriveInFragmentsThatJoinToTheWholeAnswer() async throws {
        try await Application(router: Gateway.router(backend: ScriptedToolBackend())).test(.router) { client in
            let whole = try decode(try await sendJSON(client, .post, "/v1/chat/completions", Self.request))
            let message = try #require(((whole["choices"] as? [[String: Any]])?.first)?["message"] as? [String: Any])
            let calls = try #require(message["tool_calls"] as? [[String: Any]])
            let wholeArguments = calls.compactMap { ($0["function"] as? [String: Any])?["arguments"] as? String }
            #expect(wholeArguments == ["{\"city\": \"Paris\", \"unit\": \"celsius\"}", "{\"city\": \"Tokyo\"}"])

            var streamed = Self.request
            streamed["stream"] = true
            let r = try await sendJSON(client, .post, "/v1/chat/completions", streamed)
            let payloads = String(buffer: r.body).components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { String($0.dropFirst(6)) }
            #expect(payloads.last == "[DONE]")
            var ids: [String] = []
            var arguments: [String] = []
            var fragments: [Int] = []
            var finish: String?
            for payload in payloads.dropLast() {
                let chunk = try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
                guard let choice = (chunk["choices"] as? [[String: Any]])?.first else { continue }
                if let f = choice["finish_reason"] as? String { finish = f }
                for delta in (choice["delta"] as? [String: Any])?["tool_calls"] as? [[String: Any]] ?? [] {
                    let index = try #require(delta["index"] as? Int)
                    let function = try #require(delta["function"] as? [String: Any])
                    if index == ids.count {
                        ids.append(try #require(delta["id"] as? String))
                        #expect(delta["type"] as? String == "function")
                        #expect(function["name"] as? String == "get_weather")
                        #expect(function["arguments"] as? String == "")
                        arguments.append("")
                        fragments.append(0)
                    } else {
                        #expect(index == ids.count - 1)
                        #expect(Set(delta.keys) == ["index", "function"] && Set(function.keys) == ["arguments"])
                        arguments[index] += try #require(function["arguments"] as? String)
                        fragments[index] += 1
                    }
                }
            }
            #expect(arguments == wholeArguments)
            #expect(fragments.allSatisfy { $0 > 1 })
            #expect(ids.count == 2 && ids.allSatisfy { $0.hasPrefix("call_") })
            #expect(finish == "tool_calls")
        }
    }
}
