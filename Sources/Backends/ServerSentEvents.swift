// Server-sent events as the OpenAI-compatible servers send them: `data:` lines, an event ending
// at a blank line, comments starting with `:`. Bytes arrive in arbitrary pieces, so the parser
// keeps the unfinished line between calls.

/// Splits a byte stream into the `data` payloads of its events.
public struct ServerSentEventParser: Sendable {
    /// The longest line accepted; a remote that never ends a line is not allowed to grow memory.
    public static let maxLineBytes = 16 << 20

    private var line: [UInt8] = []
    private var data: [String] = []
    private var lastWasCR = false

    public init() {}

    /// Feeds bytes; returns the data of every event they complete, in order.
    public mutating func feed<Bytes: Sequence<UInt8>>(_ bytes: Bytes) throws(ServerSentEventError) -> [String] {
        var events: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") && lastWasCR {
                lastWasCR = false
                continue  // the LF of a CRLF
            }
            lastWasCR = byte == UInt8(ascii: "\r")
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                if let event = endLine() { events.append(event) }
            } else {
                guard line.count < Self.maxLineBytes else { throw .lineTooLong(Self.maxLineBytes) }
                line.append(byte)
            }
        }
        return events
    }

    /// The event left open when the stream ended without its blank line, if any.
    public mutating func finish() -> String? {
        if !line.isEmpty { _ = endLine() }
        return endLine()
    }

    /// Handles one complete line; a blank line dispatches the event gathered so far.
    private mutating func endLine() -> String? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            guard !data.isEmpty else { return nil }
            defer { data.removeAll() }
            return data.joined(separator: "\n")
        }
        if line.first == UInt8(ascii: ":") { return nil }  // a comment (keep-alive)
        let text = String(decoding: line, as: UTF8.self)
        let field: Substring
        var value: Substring
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.first == " " { value = value.dropFirst() }
        } else {
            field = text[...]
            value = ""
        }
        if field == "data" { data.append(String(value)) }
        return nil  // `event`, `id` and `retry` carry nothing the OpenAI streams use
    }
}

/// A stream that is not server-sent events.
public enum ServerSentEventError: Error, Equatable, CustomStringConvertible, Sendable {
    case lineTooLong(Int)

    public var description: String {
        switch self {
        case .lineTooLong(let limit): "The event stream has a line longer than \(limit) bytes."
        }
    }
}
