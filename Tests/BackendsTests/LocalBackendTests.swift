import Backends
import ChatTemplates
import Foundation
import Inference
import Synchronization
import Testing

@Suite(.serialized) struct LocalBackendTests {
    static func backend(keepAlive: Duration? = nil) -> LocalBackend {
        LocalBackend(
            models: [LocalModelSpec(id: "smol", aliases: ["smollm2:135m"]) { try SmolModel.load() }],
            options: .init(slots: 2, contextLength: 512, maxQueued: 8, keepAlive: keepAlive))
    }

    static func drain(_ r: BackendResponse) async throws -> (texts: [String], finish: [ChoiceFinishReason?], usage: BackendUsage?) {
        var texts = [String](repeating: "", count: r.choices)
        var finish = [ChoiceFinishReason?](repeating: nil, count: r.choices)
        var usage: BackendUsage?
        for try await e in r.events {
            switch e {
            case let .text(c, t, _, _), let .prompt(c, t, _): texts[c] += t
            case let .finish(c, reason): finish[c] = reason
            case let .usage(u): usage = u
            case .toolCall, .reasoning: break
            }
        }
        return (texts, finish, usage)
    }

    static let messages: [TemplateValue] = [["role": "user", "content": "Name three colours."]]

    /// A model that becomes servable after start (pulled while the server runs) is found by name
    /// and listed; a loaded model reports its weights plus its slots' KV caches as memory.
    @Test func discoveredModelsAreServedAndReportTheirMemory() async throws {
        let installed = Mutex<[LocalModelSpec]>([])
        let backend = LocalBackend(models: [], options: .init(slots: 2, contextLength: 512, keepAlive: nil),
                                   discover: { installed.withLock { $0 } })
        var p = GenerateParameters.greedy
        p.maxTokens = 2
        await #expect(throws: BackendError.self) {
            _ = try await backend.chat(ChatRequest(model: "smol", messages: Self.messages, parameters: p))
        }
        #expect(await backend.models().isEmpty)
        installed.withLock { $0 = [LocalModelSpec(id: "smol") { try SmolModel.load() }] }
        _ = try await Self.drain(try await backend.chat(ChatRequest(model: "smol", messages: Self.messages, parameters: p)))
        #expect(await backend.models().map(\.id) == ["smol"])
        let model = try SmolModel.load()
        let layout = model.config.cacheLayout(capacity: 2 * 512)
        let kvBytes = layout.layers * layout.capacity * (layout.keyWidth + layout.valueWidth) * layout.element.byteCount
        #expect(await backend.statistics().first?.memoryBytes == model.loaded.file.fileSize + kvBytes)
        await backend.shutdown()
    }

    /// The chat goes through SmolLM2's own template; its prompt tokens are what ChatPrompt makes.
    @Test func chatUsesTheModelTemplate() async throws {
        let backend = Self.backend()
        var p = GenerateParameters.greedy
        p.maxTokens = 10
        let r = try await backend.chat(ChatRequest(model: "smollm2:135m", messages: Self.messages, parameters: p))
        #expect(r.model == "smollm2:135m")
        let out = try await Self.drain(r)
        let model = try SmolModel.load()
        let prompt = try ChatPrompt(model: model)
        #expect(prompt.isModelTemplate)
        let text = try prompt.render(messages: Self.messages)
        #expect(text.hasSuffix("<|im_start|>user\nName three colours.<|im_end|>\n<|im_start|>assistant\n"))
        let ids = try prompt.tokens(messages: Self.messages)
        // Control strings became single control ids, not spelled-out text.
        #expect(ids.contains(Int(model.tokenizer.tokenID(forText: "<|im_start|>")!)))
        #expect(out.usage?.promptTokens == ids.count)
        #expect(out.usage?.completionTokens ?? 0 > 0)
        #expect(out.finish == [.length] || out.finish == [.stop])
        #expect(!out.texts[0].isEmpty)
        await backend.shutdown()
    }

    /// Gemma 3's GGUF (the catalog's base model) has no template: its prompt uses Gemma's own
    /// turn markers, as control tokens, rather than ChatML strings the model never saw.
    @Test func gemmaWithoutTemplateUsesItsTurnFormat() async throws {
        let model = try GemmaModel.load()
        #expect(model.loaded.file[ChatPrompt.metadataKey] == nil)
        let prompt = try ChatPrompt(model: model)
        #expect(!prompt.isModelTemplate)
        let question: [TemplateValue] = [["role": "user", "content": "What is the capital of France?"]]
        #expect(try prompt.render(messages: question) == "<bos><start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n")
        let ids = try prompt.tokens(messages: question)
        let start = Int(model.tokenizer.tokenID(forText: "<start_of_turn>")!)
        let end = Int(model.tokenizer.tokenID(forText: "<end_of_turn>")!)
        #expect(ids.filter { $0 == start }.count == 2 && ids.filter { $0 == end }.count == 1)
        let bos = model.tokenizer.bosTokenID.map(Int.init)
        #expect(ids.first == bos && ids.filter { $0 == bos }.count == 1)
    }

    /// n = 2 with a seed: two choices, and the same request again gives the same two texts.
    @Test func choicesAndSeedReproducibility() async throws {
        let backend = Self.backend()
        var p = GenerateParameters(temperature: 1.0, seed: 1234, maxTokens: 12)
        p.topK = 0
        let a = try await Self.drain(try await backend.chat(ChatRequest(model: "smol", messages: Self.messages, parameters: p, n: 2)))
        let b = try await Self.drain(try await backend.chat(ChatRequest(model: "smol", messages: Self.messages, parameters: p, n: 2)))
        #expect(a.texts.count == 2)
        #expect(a.texts == b.texts)
        #expect(a.usage?.promptTokens == b.usage?.promptTokens)
        #expect(a.usage?.completionTokens == b.usage?.completionTokens)
        // The second request found the prompt in a slot's cache (prefix reuse).
        #expect(b.usage?.cachedTokens == (b.usage?.promptTokens ?? 0) - 1)
        #expect(a.usage?.completionTokens ?? 0 > 12)
        p.seed = 99
        let c = try await Self.drain(try await backend.chat(ChatRequest(model: "smol", messages: Self.messages, parameters: p, n: 2)))
        #expect(c.texts != a.texts)
        await backend.shutdown()
    }

    @Test func completionWithStopString() async throws {
        let backend = Self.backend()
        var p = GenerateParameters.greedy
        p.maxTokens = 30
        let plain = try await Self.drain(try await backend.completion(CompletionRequest(model: "smol", prompts: [.text("1, 2, 3, 4,")], parameters: p)))
        #expect(plain.texts[0].hasPrefix(" 5, 6"))
        p.stop = [" 7"]
        let stopped = try await Self.drain(try await backend.completion(CompletionRequest(model: "smol", prompts: [.text("1, 2, 3, 4,")], parameters: p)))
        #expect(stopped.texts[0] == " 5, 6,")
        #expect(stopped.finish == [.stop])
    }

    @Test func errorsAreBackendErrors() async throws {
        let backend = Self.backend()
        await #expect(throws: BackendError.modelNotFound("other", available: ["smol"])) {
            _ = try await backend.chat(ChatRequest(model: "other", messages: Self.messages, parameters: .greedy))
        }
        var p = GenerateParameters.greedy
        p.maxTokens = 100_000
        do {
            _ = try await backend.chat(ChatRequest(model: "smol", messages: Self.messages, parameters: p))
            Issue.record("a request larger than the context was accepted")
        } catch let e as BackendError {
            #expect(e.httpStatus == 400)
            #expect(e.code == "context_length_exceeded")
            #expect(e.description.contains("too many"))
        }
        let broken = LocalBackend(models: [LocalModelSpec(id: "gone") { try TextModel.load(path: "/nonexistent/model.gguf") }])
        do {
            _ = try await broken.chat(ChatRequest(model: "gone", messages: Self.messages, parameters: .greedy))
            Issue.record("a missing model file loaded")
        } catch let e as BackendError {
            #expect(e.httpStatus == 500)
            guard case .loadFailed = e else { Issue.record("expected loadFailed, got \(e)"); return }
        }
        await backend.shutdown()
    }

    /// Loaded on first use; unloaded once idle past keep-alive; loaded again on the next request.
    @Test func lazyLoadAndKeepAlive() async throws {
        let backend = Self.backend(keepAlive: .milliseconds(300))
        #expect(await backend.models().map(\.loaded) == [false])
        var p = GenerateParameters.greedy
        p.maxTokens = 2
        _ = try await Self.drain(try await backend.chat(ChatRequest(model: "smol", messages: Self.messages, parameters: p)))
        #expect(await backend.models().map(\.loaded) == [true])
        let stats = await backend.statistics()
        #expect(stats.map(\.id) == ["smol"], "\(stats)")
        #expect(stats.first?.slots == 2)
        #expect(stats.first?.cacheTokensCapacity == 2 * 512)
        await backend.startKeepAlive()
        let deadline = ContinuousClock.now + .seconds(60)  // generous: a loaded machine is slow
        while await backend.models()[0].loaded && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(await backend.models().map(\.loaded) == [false])
        _ = try await Self.drain(try await backend.chat(ChatRequest(model: "smol", messages: Self.messages, parameters: p)))
        #expect(await backend.models().map(\.loaded) == [true])
        await backend.shutdown()
    }
}
