// The web workbench: `/` and `/ui/<file>` serve the page, scripts and styles that SwiftPM embeds
// in the binary from Sources/Gateway/Web (`resources: [.embedInCode("Web")]`), so a server needs
// no files beside it and works offline. For UI development, STUDIO_WEB_DIR=<folder> serves the
// files from that folder instead, read on every request, so a page reload shows an edit without a
// rebuild.

import Foundation
import Hummingbird

enum WebFiles {
    /// The workbench files compiled into the binary, by name. A new file in Web/ needs its line
    /// here (the browser tests check that every file of the folder is served).
    static let embedded: [String: [UInt8]] = [
        "index.html": PackageResources.index_html,
        "style.css": PackageResources.style_css,
        "app.js": PackageResources.app_js,
        "api.js": PackageResources.api_js,
        "dom.js": PackageResources.dom_js,
        "playground.js": PackageResources.playground_js,
        "compare.js": PackageResources.compare_js,
        "prompts.js": PackageResources.prompts_js,
        "logs.js": PackageResources.logs_js,
        "keys.js": PackageResources.keys_js,
        "models.js": PackageResources.models_js,
        "tokens.js": PackageResources.tokens_js,
    ]
}

struct WebRoutes<Context: RequestContext>: Sendable {
    /// Where files are read from instead of the embedded copies (STUDIO_WEB_DIR), if set.
    let directory: String?

    init(directory: String? = ProcessInfo.processInfo.environment["STUDIO_WEB_DIR"]) {
        self.directory = directory.flatMap { $0.isEmpty ? nil : $0 }
    }

    func register(on router: Router<Context>) {
        router.get("/") { _, _ in try file("index.html") }
        router.get("ui") { _, _ in try file("index.html") }
        router.get("ui/{file}") { _, context in try file(context.parameters.require("file")) }
    }

    func file(_ name: String) throws -> Response {
        guard let type = Self.contentType(of: name), let bytes = bytes(of: name) else {
            throw APIError(status: .notFound, message: "The workbench has no file '\(name)'.", code: "not_found")
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: type,
                .cacheControl: "no-cache",
                // Everything the page needs comes from this server: no CDN, works offline.
                .contentSecurityPolicy: "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
                .xContentTypeOptions: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    private func bytes(of name: String) -> [UInt8]? {
        guard let directory else { return WebFiles.embedded[name] }
        // Only plain names inside the folder: no path separators, no dot files.
        guard !name.hasPrefix("."), !name.contains("/"), !name.contains("\\") else { return nil }
        return FileManager.default.contents(atPath: directory + "/" + name).map { Array($0) }
    }

    static func contentType(of name: String) -> String? {
        switch name.split(separator: ".").last {
        case "html": "text/html; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        default: nil
        }
    }
}
