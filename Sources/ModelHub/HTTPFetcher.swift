import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Downloads over HTTP(S) with AsyncHTTPClient, resuming a partial file with a Range request.
struct HTTPFetcher: Sendable {
    var headers: [(String, String)] = []

    struct Published: Sendable { var sha256: String?; var size: Int64? }

    /// What the server says the file is before we fetch it. Hugging Face answers a HEAD on a
    /// `resolve` URL with `X-Linked-Etag` (the LFS sha256) and `X-Linked-Size`, before redirecting
    /// to its CDN, so the redirect is not followed here.
    func published(_ url: String) async throws -> Published {
        var request = HTTPClientRequest(url: url)
        request.method = .HEAD
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(15), read: .seconds(30))))
        defer { _ = client.shutdown() }
        let response: HTTPClientResponse
        do { response = try await client.execute(request, timeout: .seconds(60)) } catch {
            throw HubError.network(source: url, detail: Self.describe(error))
        }
        guard response.status.code < 400 else { throw HubError.network(source: url, detail: "HTTP \(response.status.code) \(response.status.reasonPhrase)") }
        func header(_ name: String) -> String? { response.headers.first(name: name) }
        var sha = header("x-linked-etag") ?? header("etag")
        sha = sha?.replacingOccurrences(of: "\"", with: "").replacingOccurrences(of: "W/", with: "").lowercased()
        if let s = sha, s.count != 64 || !s.allSatisfy(\.isHexDigit) { sha = nil }
        let size = (header("x-linked-size") ?? (response.status.code == 200 ? header("content-length") : nil)).flatMap { Int64($0) }
        return Published(sha256: sha, size: size)
    }

    /// Appends the bytes of `url` after what `writer` already holds (Range resume).
    func download(_ url: String, into writer: HashingWriter, expectedTotal: Int64?) async throws {
        var request = HTTPClientRequest(url: url)
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        let resumeFrom = writer.bytesWritten
        if resumeFrom > 0 { request.headers.add(name: "Range", value: "bytes=\(resumeFrom)-") }
        let response: HTTPClientResponse
        do { response = try await HTTPClient.shared.execute(request, timeout: .hours(12)) } catch {
            throw HubError.network(source: url, detail: Self.describe(error))
        }
        switch response.status.code {
        case 206: break
        case 200 where resumeFrom > 0:
            throw HubError.network(source: url, detail: "the server ignored the Range request; delete the partial download and retry")
        case 200: break
        case 416 where expectedTotal == resumeFrom: return
        default:
            throw HubError.network(source: url, detail: "HTTP \(response.status.code) \(response.status.reasonPhrase)")
        }
        do {
            for try await buffer in response.body {
                try Task.checkCancellation()
                try writer.write(Data(buffer.readableBytesView))
            }
        } catch let error as HubError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw HubError.network(source: url, detail: "the transfer broke off after \(writer.bytesWritten) bytes (\(Self.describe(error))); run the pull again to resume")
        }
    }

    static func describe(_ error: Error) -> String {
        let text = String(describing: error)
        if text.contains("connectTimeout") || text.contains("connect") && text.contains("refused") { return "the server could not be reached (\(text))" }
        if text.contains("dns") || text.contains("DNS") || text.contains("NXDOMAIN") { return "the host name could not be resolved; is the network up? (\(text))" }
        return text
    }
}
