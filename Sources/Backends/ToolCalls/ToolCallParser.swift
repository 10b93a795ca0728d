// Streamed model text → ordinary content and tool calls. Three syntaxes are recognised:
//   • Qwen/Hermes: `<tool_call>{"name": …, "arguments": {…}}</tool_call>`, several in a row for
//     parallel calls;
//   • Llama 3: `<|python_tag|>` followed by `{"name": …, "parameters": {…}}` (`;`-separated);
//   • plain JSON: an output that begins with a call object or an array of them (also inside a
//     ```json fence, as small models often write it).
// Text that may still become a call is withheld; text that turns out not to be one (malformed
// JSON, an unknown function, a tag never closed) is released as content, so nothing is lost.
//
// A call written `{"name": "<offered fn>", "arguments": {…}}` (in a tag, as plain JSON, in a
// fence or after the python tag) is streamed: it starts once its arguments object holds a valid first byte past `{`, and then
// each piece of the arguments is released as soon as it is known to be a valid beginning of JSON.
// Its arguments are the model's own text, byte for byte, in the streamed and the whole answer
// alike (both are built from the same pieces; re-serializing would mean holding the object back
// until it is complete). A started call cannot be taken back: if its arguments break off (not
// JSON from some byte on, or the output ends first), the call keeps what was released, the rest
// is content, and `lastCallCutShort` says so. Calls in any other form are parsed whole, their
// arguments re-serialized compactly as before.

/// A piece of parsed output.
public enum ToolCallPiece: Sendable, Equatable {
    case content(String)
    /// A whole call.
    case call(ToolCall)
    /// A call whose arguments follow in `.arguments` pieces (its own `arguments` is empty).
    case callStart(ToolCall)
    /// More of the arguments of the call started last.
    case arguments(String)
}

/// The incremental parser of one choice's output.
public struct ToolCallParser: Sendable {
    static let open = "<tool_call>"
    static let close = "</tool_call>"
    static let pythonTag = "<|python_tag|>"

    private enum Mode: Equatable {
        /// Nothing but whitespace seen yet: the output may be a plain-JSON call.
        case start
        case text
        /// Inside `<tool_call>`; `pending` is the text after the tag.
        case tagged
        /// The output began with `{` or `[`.
        case plainJSON
        /// The output began with a Markdown fence (```json) line.
        case fencedJSON
        /// After `<|python_tag|>`: the rest of the output is the call.
        case pythonTag
        /// Inside a streamed call's arguments (then its closing), written in this syntax.
        case streaming(CallSyntax)
    }

    private enum CallSyntax: Equatable { case tagged, plainJSON, fenced, pythonTag }

    private var mode = Mode.start
    private var pending = ""
    private let names: Set<String>?
    /// Calls emitted so far.
    public private(set) var callCount = 0
    /// Whether nothing but calls has been emitted since the start or the last call.
    private var atBoundary = true
    /// Whitespace held back before a tag (dropped if a call follows).
    private var layout = ""
    /// Whether the last call was written as plain JSON (another may follow the same way).
    private var afterPlainCall = false
    /// The current call cannot be streamed (it is parsed whole when it ends).
    private var wholeOnly = false
    /// The streamed call's arguments so far, and whether they are complete.
    private var checker = JSONPrefixChecker()
    private var argumentsDone = false
    /// Whether a call was streamed since the last `<|python_tag|>`.
    private var streamedAfterPythonTag = false
    /// Whether the last call's arguments broke off before they were complete.
    public private(set) var lastCallCutShort = false

    /// - Parameter toolNames: the functions the request offers; a call to any other name is
    ///   kept as content. Nil accepts any name.
    public init(toolNames: [String]? = nil) {
        names = toolNames.map(Set.init)
    }

    /// Consumes the next piece of generated text.
    public mutating func feed(_ text: String) -> [ToolCallPiece] {
        pending += text
        var out: [ToolCallPiece] = []
        while step(into: &out, atEnd: false) {}
        return Self.merged(out)
    }

    /// The output has ended: whatever is withheld becomes calls or content.
    public mutating func finish() -> [ToolCallPiece] {
        var out: [ToolCallPiece] = []
        while step(into: &out, atEnd: true) {}
        if !pending.isEmpty {
            out.append(.content(pending))
            pending = ""
        }
        return Self.merged(out)
    }

    /// One transition; returns whether to go on.
    private mutating func step(into out: inout [ToolCallPiece], atEnd: Bool) -> Bool {
        switch mode {
        case .start:
            let body = pending.drop(while: \.isWhitespace)
            guard let first = body.first else { return false }
            if first == "{" || first == "[" {
                mode = .plainJSON
                wholeOnly = false
            } else if first == "`" {
                // A fence line (```, ```json) may open a JSON call; wait until the line is whole.
                guard let newline = body.firstIndex(of: "\n") else {
                    if atEnd || !("```json".hasPrefix(body) || body.hasPrefix("```")) || body.count > 16 { mode = .text }
                    return mode == .text
                }
                let fence = body[..<newline].filter { !$0.isWhitespace }
                mode = fence == "```" || fence == "```json" ? .fencedJSON : .text
                wholeOnly = false
            } else {
                mode = .text
            }
            return true

        case .fencedJSON:
            if let go = startStreaming(.fenced, into: &out, atEnd: atEnd) { return go }
            return stepInFence(into: &out, atEnd: atEnd)

        case .text:
            // Plain-JSON calls may follow one another, separated by whitespace.
            if afterPlainCall, atBoundary, let first = pending.first(where: { !$0.isWhitespace }), first == "{" || first == "[" {
                mode = .plainJSON
                wholeOnly = false
                return true
            }
            if let (marker, range) = firstMarker() {
                // Whitespace between calls (or before the first) is layout, not content.
                let before = pending[..<range.lowerBound]
                if atBoundary && before.allSatisfy(\.isWhitespace) {
                    layout = String(before)  // given back if the tag turns out not to be a call
                } else {
                    emit(String(before), into: &out)
                }
                pending = String(pending[range.upperBound...])
                mode = marker == Self.open ? .tagged : .pythonTag
                wholeOnly = false
                streamedAfterPythonTag = false
                return true
            }
            let keep = atEnd ? 0 : Self.partialMarkerSuffix(pending)
            let cut = pending.index(pending.endIndex, offsetBy: -keep)
            if pending[..<cut].allSatisfy(\.isWhitespace) {
                // Held until something follows; after the last call it is dropped.
                if atEnd {
                    if !(atBoundary && callCount > 0) { emit(pending, into: &out) }
                    pending = ""
                }
                return false
            }
            emit(String(pending[..<cut]), into: &out)
            pending = String(pending[cut...])
            return false

        case .tagged:
            if let go = startStreaming(.tagged, into: &out, atEnd: atEnd) { return go }
            return stepInTag(into: &out, atEnd: atEnd)

        case .streaming(let syntax):
            return stepInStreamedCall(syntax, into: &out, atEnd: atEnd)

        case .plainJSON:
            if pending.first(where: { !$0.isWhitespace }) == "{", let go = startStreaming(.plainJSON, into: &out, atEnd: atEnd) {
                return go
            }
            switch JSONExtent.scan(pending.utf8) {
            case .complete(let end):
                let cut = pending.utf8.index(pending.startIndex, offsetBy: end)
                let value = pending[..<cut]
                if let calls = ToolCallDecoding.calls(in: value, names: names) {
                    emit(calls, into: &out)
                    afterPlainCall = true
                } else {
                    emit(String(value), into: &out)
                }
                pending = String(pending[cut...])
                mode = .text
                return true
            case .invalid:
                afterPlainCall = false
                mode = .text
                return true
            case .incomplete:
                guard atEnd else { return false }
                afterPlainCall = false
                mode = .text
                return true
            }

        case .pythonTag:
            if let go = startStreaming(.pythonTag, into: &out, atEnd: atEnd) { return go }
            guard atEnd else { return false }
            if let calls = ToolCallDecoding.calls(in: pending[...], names: names) {
                emit(calls, into: &out)
            } else if streamedAfterPythonTag {
                // After streamed calls only separators are layout; anything else is content.
                if !pending.allSatisfy({ $0.isWhitespace || $0 == ";" || $0 == "," }) { emit(pending, into: &out) }
            } else {
                emit(Self.pythonTag + pending, into: &out)
            }
            pending = ""
            mode = .text
            return false
        }
    }

    /// Inside `<tool_call>`: the call object ends where its braces balance (a tag inside a
    /// string is not a tag); then the closing tag is expected. A call whose closing tag is
    /// missing still counts (small models often forget it).
    private mutating func stepInTag(into out: inout [ToolCallPiece], atEnd: Bool) -> Bool {
        switch JSONExtent.scan(pending.utf8) {
        case .complete(let end):
            let cut = pending.utf8.index(pending.startIndex, offsetBy: end)
            let after = pending[cut...]
            let rest = after.drop(while: \.isWhitespace)
            var consumed = cut
            if rest.hasPrefix(Self.close) {
                consumed = pending.index(rest.startIndex, offsetBy: Self.close.count)
            } else if Self.close.hasPrefix(rest), !atEnd {
                return false  // the closing tag may still come
            }
            if let calls = ToolCallDecoding.calls(in: pending[..<cut], names: names) {
                emit(calls, into: &out)
            } else {
                emit(Self.open + pending[..<consumed], into: &out)
            }
            pending = String(pending[consumed...])
        case .incomplete:
            guard atEnd else { return false }
            emit(Self.open + pending, into: &out)
            pending = ""
        case .invalid:
            // Not JSON: everything up to the closing tag (or the end) is content.
            if let range = pending.range(of: Self.close) {
                emit(Self.open + pending[..<range.upperBound], into: &out)
                pending = String(pending[range.upperBound...])
            } else {
                guard atEnd else { return false }
                emit(Self.open + pending, into: &out)
                pending = ""
            }
        }
        mode = .text
        return true
    }

    /// Starts streaming the call at the start of `pending` when it opens the way
    /// `ToolCallHeader` knows and its arguments begin validly. Nil: parse this call whole; false:
    /// wait for more text.
    private mutating func startStreaming(_ syntax: CallSyntax, into out: inout [ToolCallPiece], atEnd: Bool) -> Bool? {
        guard !wholeOnly else { return nil }
        var text = pending[...]
        if syntax == .pythonTag { text = text.drop { $0.isWhitespace || $0 == ";" || $0 == "," } }
        if syntax == .fenced {
            guard let newline = pending.firstIndex(of: "\n") else { return nil }
            text = pending[pending.index(after: newline)...]  // the call follows the fence line
        }
        switch ToolCallHeader.match(text, names: names) {
        case .none:
            wholeOnly = true
            return nil
        case .needMore:
            if atEnd { wholeOnly = true; return nil }
            return false
        case let .call(name, start):
            let arguments = text.utf8.index(text.startIndex, offsetBy: start)
            // `{` and one more valid byte: a stray `{a` stays content.
            var probe = JSONPrefixChecker()
            var significant = 0
            for b in pending[arguments...].utf8 where significant < 2 {
                guard probe.accept(b) else { wholeOnly = true; return nil }
                if !(b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09) { significant += 1 }
            }
            guard significant == 2 else {
                if atEnd { wholeOnly = true; return nil }
                return false
            }
            out.append(.callStart(ToolCall(name: name, arguments: "")))
            layout = ""
            callCount += 1
            atBoundary = false
            afterPlainCall = false
            lastCallCutShort = false
            checker = JSONPrefixChecker()
            argumentsDone = false
            pending = String(pending[arguments...])
            mode = .streaming(syntax)
            return true
        }
    }

    /// Releases the streamed call's arguments as far as they are valid JSON; once they are
    /// complete, consumes the call object's `}` and (in a tag) `</tool_call>`.
    private mutating func stepInStreamedCall(_ syntax: CallSyntax, into out: inout [ToolCallPiece], atEnd: Bool) -> Bool {
        if !argumentsDone {
            var taken = 0
            var broken = false
            for b in pending.utf8 {
                if checker.isComplete { break }
                guard checker.accept(b) else { broken = true; break }
                taken += 1
            }
            if taken > 0 {
                // A JSON text breaks (or ends) only at an ASCII byte: the cut is between characters.
                let cut = pending.utf8.index(pending.startIndex, offsetBy: taken)
                out.append(.arguments(String(pending[..<cut])))
                pending = String(pending[cut...])
            }
            if checker.isComplete {
                argumentsDone = true
            } else if broken || atEnd {
                endStreamedCall(syntax, complete: false)
                return true
            } else {
                return false
            }
        }
        let rest = pending.drop(while: \.isWhitespace)
        guard let first = rest.first else {
            guard atEnd else { return false }
            pending = ""
            endStreamedCall(syntax, complete: true)
            return true
        }
        // Anything but the object's `}` (more keys, stray text) is content after the call.
        guard first == "}" else {
            endStreamedCall(syntax, complete: true)
            return true
        }
        var consumed = rest.index(after: rest.startIndex)
        // In a tag or a fence, its closing may follow.
        if let close = syntax == .tagged ? Self.close : syntax == .fenced ? "```" : nil {
            let after = pending[consumed...].drop(while: \.isWhitespace)
            if after.hasPrefix(close) {
                consumed = pending.index(after.startIndex, offsetBy: close.count)
            } else if close.hasPrefix(after), !atEnd {
                return false  // the closing may still come
            }
        }
        pending = String(pending[consumed...])
        endStreamedCall(syntax, complete: true)
        return true
    }

    private mutating func endStreamedCall(_ syntax: CallSyntax, complete: Bool) {
        lastCallCutShort = !complete
        atBoundary = complete
        mode = .text
        guard complete else { return }
        switch syntax {
        case .tagged, .fenced: break
        case .plainJSON: afterPlainCall = true
        case .pythonTag:
            mode = .pythonTag
            wholeOnly = false
            streamedAfterPythonTag = true
        }
    }

    /// After a ```json line at the start: a call object, then the closing fence, is a call;
    /// anything else is ordinary text.
    private mutating func stepInFence(into out: inout [ToolCallPiece], atEnd: Bool) -> Bool {
        guard let newline = pending.firstIndex(of: "\n") else { mode = .text; return true }
        let inner = pending[pending.index(after: newline)...]
        switch JSONExtent.scan(inner.utf8) {
        case .complete(let end):
            let cut = inner.utf8.index(inner.startIndex, offsetBy: end)
            let rest = inner[cut...].drop(while: \.isWhitespace)
            var consumed = cut
            if rest.hasPrefix("```") {
                consumed = pending.index(rest.startIndex, offsetBy: 3)
            } else if "```".hasPrefix(rest), !atEnd {
                return false
            }
            if let calls = ToolCallDecoding.calls(in: inner[..<cut], names: names) {
                emit(calls, into: &out)
                pending = String(pending[consumed...])
            }
        case .incomplete:
            guard atEnd else { return false }
        case .invalid:
            break
        }
        mode = .text
        return true
    }

    private func firstMarker() -> (String, Range<String.Index>)? {
        var best: (String, Range<String.Index>)?
        for marker in [Self.open, Self.pythonTag] {
            if let r = pending.range(of: marker), best.map({ r.lowerBound < $0.1.lowerBound }) ?? true {
                best = (marker, r)
            }
        }
        return best
    }

    /// Length (in characters) of the longest end of `text` that begins a marker.
    static func partialMarkerSuffix(_ text: String) -> Int {
        var longest = 0
        for marker in [open, pythonTag] {
            for length in stride(from: min(marker.count - 1, text.count), to: longest, by: -1)
            where text.hasSuffix(marker.prefix(length)) {
                longest = length
                break
            }
        }
        return longest
    }

    private mutating func emit(_ text: String, into out: inout [ToolCallPiece]) {
        guard !text.isEmpty else { return }
        out.append(.content(layout + text))
        layout = ""
        atBoundary = false
        afterPlainCall = false
    }

    private mutating func emit(_ calls: [ToolCall], into out: inout [ToolCallPiece]) {
        for call in calls { out.append(.call(call)) }
        layout = ""
        callCount += calls.count
        atBoundary = true
        lastCallCutShort = false
    }

    /// Adjacent content pieces joined, and adjacent argument pieces.
    private static func merged(_ pieces: [ToolCallPiece]) -> [ToolCallPiece] {
        var out: [ToolCallPiece] = []
        for piece in pieces {
            if case .content(let b) = piece, case .content(let a)? = out.last {
                out[out.count - 1] = .content(a + b)
            } else if case .arguments(let b) = piece, case .arguments(let a)? = out.last {
                out[out.count - 1] = .arguments(a + b)
            } else {
                out.append(piece)
            }
        }
        return out
    }
}
