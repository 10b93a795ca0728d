import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// What the fake remote does with one request.
enum FakeReply: Sendable {
    /// A 200 event stream: each string is one event's `data`, sent `delay` apart. With
    /// `dropAfter` the connection is closed after that many events, without `[DONE]`.
    case events([String], delay: TimeAmount = .zero, dropAfter: Int? = nil)
    /// A whole answer with this status.
    case json(status: Int, body: String, headers: [(String, String)] = [])
    /// Closes the connection without answering.
    case drop
    /// Never answers (the connection stays open).
    case silent
}

/// An OpenAI-compatible server on 127.0.0.1 whose answers the test scripts: it streams SSE,
/// returns errors, drops connections, or stays silent. It records every request it receives.
final class FakeOpenAIServer: @unchecked Sendable {
    struct Received: Sendable {
        var method: String
        var path: String
        var body: String
        var authorization: String?
    }

    private let lock = NSLock()
    private var received: [Received] = []
    private var closed = 0
    private var channel: Channel?
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let reply: @Sendable (Received) -> FakeReply

    init(reply: @escaping @Sendable (Received) -> FakeReply) {
        self.reply = reply
    }

    var port: Int { channel?.localAddress?.port ?? 0 }
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }
    var requests: [Received] { lock.withLock { received } }
    /// Connections that have been closed (by either side).
    var closedConnections: Int { lock.withLock { closed } }

    func start() throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(server: self))
                }
            }
        channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
    }

    func stop() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }

    fileprivate func connectionClosed() {
        lock.withLock { closed += 1 }
    }

    fileprivate func answer(_ request: Received) -> FakeReply {
        lock.withLock { received.append(request) }
        return reply(request)
    }

    /// A URL where nothing listens (a port that was just free).
    static func closedPortURL() throws -> String {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let channel = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress?.port ?? 1
        try channel.close().wait()
        return "http://127.0.0.1:\(port)/v1"
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: FakeOpenAIServer
        var head: HTTPRequestHead?
        var body = ByteBuffer()

        init(server: FakeOpenAIServer) { self.server = server }

        func channelInactive(context: ChannelHandlerContext) {
            server.connectionClosed()
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case let .head(h):
                head = h
                body.clear()
            case var .body(part):
                body.writeBuffer(&part)
            case .end:
                guard let head else { return }
                let request = Received(method: "\(head.method)", path: head.uri, body: String(buffer: body),
                                       authorization: head.headers.first(name: "Authorization"))
                respond(context: context, version: head.version, reply: server.answer(request))
            }
        }

        func respond(context: ChannelHandlerContext, version: HTTPVersion, reply: FakeReply) {
            switch reply {
            case .silent:
                return
            case .drop:
                context.close(promise: nil)
            case let .json(status, text, extra):
                var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(text.utf8.count)")])
                for (name, value) in extra { headers.add(name: name, value: value) }
                let head = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: status), headers: headers)
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case let .events(events, delay, dropAfter):
                let headers = HTTPHeaders([("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")])
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .ok, headers: headers))), promise: nil)
                send(events + (dropAfter == nil ? ["[DONE]"] : []), from: 0, delay: delay, dropAfter: dropAfter, context: context)
            }
        }

        /// Sends event `index` and schedules the next one.
        func send(_ events: [String], from index: Int, delay: TimeAmount, dropAfter: Int?, context: ChannelHandlerContext) {
            guard context.channel.isActive else { return }
            if let dropAfter, index >= dropAfter {
                context.close(promise: nil)
                return
            }
            guard index < events.count else {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "data: \(events[index])\n\n")))), promise: nil)
            let loop = context.eventLoop.assumeIsolated()
            if delay == .zero {
                send(events, from: index + 1, delay: delay, dropAfter: dropAfter, context: context)
            } else {
                loop.scheduleTask(in: delay) {
                    self.send(events, from: index + 1, delay: delay, dropAfter: dropAfter, context: context)
                }
            }
        }
    }
}

/// Chunks as OpenAI-compatible servers stream them.
enum FakeChunks {
    static func chat(_ text: String, index: Int = 0) -> String {
        #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":\#(index),"delta":{"content":\#(quoted(text))},"finish_reason":null}]}"#
    }

    static func chatRole(index: Int = 0) -> String {
        #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":\#(index),"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#
    }

    static func chatFinish(_ reason: String, index: Int = 0) -> String {
        #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":\#(index),"delta":{},"finish_reason":"\#(reason)"}]}"#
    }

    static func usage(prompt: Int, completion: Int, cached: Int = 0) -> String {
        #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":\#(prompt + completion),"prompt_tokens_details":{"cached_tokens":\#(cached)}}}"#
    }

    static func completion(_ text: String, index: Int = 0, finish: String? = nil) -> String {
        let reason = finish.map { "\"\($0)\"" } ?? "null"
        return #"{"id":"c2","object":"text_completion","created":1,"model":"m","choices":[{"index":\#(index),"text":\#(quoted(text)),"logprobs":null,"finish_reason":\#(reason)}]}"#
    }

    /// A whole chat answer (`stream` ignored), one choice.
    static func chatAnswer(_ text: String) -> String {
        #"{"id":"c3","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":\#(quoted(text))},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}"#
    }

    static func error(_ message: String, type: String = "invalid_request_error", code: String? = nil, param: String? = nil) -> String {
        let c = code.map { "\"\($0)\"" } ?? "null"
        let p = param.map { "\"\($0)\"" } ?? "null"
        return #"{"error":{"message":\#(quoted(message)),"type":"\#(type)","param":\#(p),"code":\#(c)}}"#
    }

    static func models(_ ids: [String]) -> String {
        let items = ids.map { #"{"id":\#(quoted($0)),"object":"model","created":1,"owned_by":"x"}"# }
        return #"{"object":"list","data":[\#(items.joined(separator: ","))]}"#
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }
}
