import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP server on 127.0.0.1 that serves one file the way Hugging Face's `resolve` URLs
/// do: HEAD answers with X-Linked-Etag / X-Linked-Size, GET honours Range. It can drop the
/// connection part-way through the first GET, to test resuming.
final class LocalHTTPServer: @unchecked Sendable {
    let body: [UInt8]
    let publishedSHA: String
    let path: String
    var cutFirstGetAfter: Int?
    private(set) var rangeRequests: [String] = []
    private let lock = NSLock()
    private var channel: Channel?
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    init(path: String, body: [UInt8], publishedSHA: String, cutFirstGetAfter: Int? = nil) {
        self.path = path
        self.body = body
        self.publishedSHA = publishedSHA
        self.cutFirstGetAfter = cutFirstGetAfter
    }

    var port: Int { channel?.localAddress?.port ?? 0 }
    var endpoint: String { "http://127.0.0.1:\(port)" }

    func start() throws {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap { channel.pipeline.addHandler(Handler(server: self)) }
            }
        channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
    }

    func stop() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }

    func record(_ range: String?) -> Int? {
        lock.withLock {
            rangeRequests.append(range ?? "")
            defer { cutFirstGetAfter = nil }
            return cutFirstGetAfter
        }
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: LocalHTTPServer
        var head: HTTPRequestHead?
        init(server: LocalHTTPServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case let .head(h): head = h
            case .body: break
            case .end:
                guard let head else { return }
                respond(context: context, head: head)
            }
        }

        func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
            var headers = HTTPHeaders()
            guard head.uri.hasSuffix(server.path) else {
                headers.add(name: "Content-Length", value: "0")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .notFound, headers: headers))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            headers.add(name: "X-Linked-Etag", value: "\"\(server.publishedSHA)\"")
            headers.add(name: "X-Linked-Size", value: "\(server.body.count)")
            headers.add(name: "Accept-Ranges", value: "bytes")
            if head.method == .HEAD {
                headers.add(name: "Content-Length", value: "\(server.body.count)")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            let range = head.headers.first(name: "Range")
            let cut = server.record(range)
            var start = 0
            var status = HTTPResponseStatus.ok
            if let range, range.hasPrefix("bytes="), let from = Int(range.dropFirst(6).split(separator: "-").first ?? "") {
                start = from
                status = .partialContent
                headers.add(name: "Content-Range", value: "bytes \(from)-\(server.body.count - 1)/\(server.body.count)")
            }
            let slice = Array(server.body[start...])
            headers.add(name: "Content-Length", value: "\(slice.count)")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            if let cut {
                // Send part of the body, then drop the connection.
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: slice.prefix(cut))))), promise: nil)
                context.close(promise: nil)
                return
            }
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: slice)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
