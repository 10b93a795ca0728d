@testable import Backends
import ChatTemplates
import Foundation
import Inference
import Testing

/// What reaches a remote besides sampling (`user`, `echo`), and a reasoning model's
/// `reasoning_content` coming back.
@Suite struct RemoteFieldsTests {
    static func sentBody(_ server: FakeOpenAIServer, _ i: Int) throws -> TemplateObject {
        guard case .object(let o) = try TemplateValue(jsonString: server.requests[i].body) else {
            throw CancellationError()
        }
        return o
    }

    @Test func userAndEchoAreForwardedOnlyWhenSet() async throws {
        try await withFakeRemote({ r in
            .events([r.path.hasSuffix("chat/completions") ? FakeChunks.chatFinish("stop") : FakeChunks.completion("", finish: "stop")])
        }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL)) { remote in
                var chat = chatRequest("m")
                chat.user = "user-42"
                _ = await drain(try await remote.chat(chat))
                _ = await drain(try await remote.chat(chatRequest("m")))
                let p = GenerateParameters(maxTokens: 4)
                _ = await drain(try await remote.completion(
                    CompletionRequest(model: "m", prompts: [.text("a")], parameters: p, echo: true, user: "user-7")))
                _ = await drain(try await remote.completion(CompletionRequest(model: "m", prompts: [.text("a")], parameters: p)))
            }
            #expect(server.requests.count == 4)
            let (chat, plainChat, completion, plainCompletion) =
                (try Self.sentBody(server, 0), try Self.sentBody(server, 1), try Self.sentBody(server, 2), try Self.sentBody(server, 3))
            #expect(chat["user"] == "user-42")
            #expect(completion["echo"] == true && completion["user"] == "user-7")
            #expect(plainChat["user"] == nil && plainCompletion["user"] == nil && plainCompletion["echo"] == nil)
        }
    }

    @Test func reasoningContentComesThroughStreamedAndWhole() async throws {
        func delta(_ fields: String) -> String {
            #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{\#(fields)},"finish_reason":null}]}"#
        }
        let chunks = [FakeChunks.chatRole(), delta(#""reasoning_content":"Two plus""#), delta(#""reasoning_content":" two is four.""#),
                      delta(#""content":"4","reasoning_content":null"#), FakeChunks.chatFinish("stop")]
        try await withFakeRemote({ _ in .events(chunks) }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL)) { remote in
                let d = await drain(try await remote.chat(chatRequest("m")))
                #expect(d.error == nil)
                #expect(d.texts == ["4"])
                #expect(d.events.compactMap { if case let .reasoning(0, t) = $0 { t } else { nil } } == ["Two plus", " two is four."])
                // Reasoning comes before the content, as the remote sent it.
                let firstText = d.events.firstIndex { if case .text = $0 { true } else { false } }
                let lastReasoning = d.events.lastIndex { if case .reasoning = $0 { true } else { false } }
                #expect(firstText != nil && lastReasoning != nil && lastReasoning! < firstText!)
            }
        }
        let whole = #"{"id":"c3","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"4","reasoning_content":"Easy."},"finish_reason":"stop"}]}"#
        try await withFakeRemote({ _ in .json(status: 200, body: whole) }) { server in
            try await withRemote(RemoteConfiguration(name: "fake", baseURL: server.baseURL)) { remote in
                let d = await drain(try await remote.chat(chatRequest("m")))
                #expect(d.texts == ["4"])
                #expect(d.events.contains(.reasoning(choice: 0, text: "Easy.")))
                #expect(d.usage == nil)
            }
        }
    }
}
