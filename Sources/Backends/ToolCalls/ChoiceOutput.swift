// One choice's generated text on its way to the response stream: passed straight through, or,
// when the request offers tools, through a tool-call parser that turns calls into events and
// makes the finish reason `tool_calls`.

/// Yields one choice's text, tool calls and finish as backend events.
struct ChoiceOutput {
    let choice: Int
    let continuation: AsyncThrowingStream<BackendEvent, any Error>.Continuation
    private var parser: ToolCallParser?
    private var calls = 0
    /// The call being streamed (its arguments arrive in pieces).
    private var streamed: ToolCall?

    init(choice: Int, toolNames: [String]?, continuation: AsyncThrowingStream<BackendEvent, any Error>.Continuation) {
        self.choice = choice
        self.continuation = continuation
        parser = toolNames.map { ToolCallParser(toolNames: $0) }
    }

    /// Text of `tokens` generated tokens (0 for text released without a token). One text event
    /// always carries the token count and logprobs, even when the parser withholds its text.
    mutating func text(_ text: String, logprobs: TokenLogprobInfo?, tokens: Int) {
        guard parser != nil else {
            continuation.yield(.text(choice: choice, text: text, logprobs: logprobs, tokens: tokens))
            return
        }
        let pieces = parser!.feed(text)
        deliver(pieces, logprobs: logprobs, tokens: tokens)
    }

    mutating func finish(_ reason: ChoiceFinishReason) {
        if parser != nil { deliver(parser!.finish(), logprobs: nil, tokens: 0) }
        // A call whose arguments broke off keeps the generation's reason (e.g. `length`), as
        // OpenAI reports a call cut short by max_tokens.
        let cutShort = parser?.lastCallCutShort ?? false
        continuation.yield(.finish(choice: choice, reason: calls > 0 && !cutShort ? .toolCalls : reason))
    }

    private mutating func deliver(_ pieces: [ToolCallPiece], logprobs: TokenLogprobInfo?, tokens: Int) {
        var counted = false
        for piece in pieces {
            switch piece {
            case .content(let s):
                continuation.yield(.text(choice: choice, text: s, logprobs: counted ? nil : logprobs, tokens: counted ? 0 : tokens))
                counted = true
            case .call(let call):
                continuation.yield(.toolCall(choice: choice, index: calls, call: call))
                calls += 1
                streamed = nil
            case .callStart(let call):
                continuation.yield(.toolCall(choice: choice, index: calls, call: call))
                calls += 1
                streamed = call
            case .arguments(let fragment):
                guard var call = streamed else { continue }
                call.arguments = fragment
                continuation.yield(.toolCall(choice: choice, index: calls - 1, call: call))
            }
        }
        if !counted && (tokens > 0 || logprobs != nil) {
            continuation.yield(.text(choice: choice, text: "", logprobs: logprobs, tokens: tokens))
        }
    }
}
