import ChatTemplates
import Foundation
import Store
import Synchronization

/// What the Gateway learns about one `/v1` or `/api` request as it passes the middleware: its
/// id, the key that made it, its JSON body. Bound in a task local for the request's handling,
/// so the backend decorators (audit, usage) can join their record to it.
final class RequestTrace: Sendable {
    @TaskLocal static var current: RequestTrace?

    let id: String
    let method: String
    let path: String
    let time = Date()
    let start = ContinuousClock.now
    private let state = Mutex(State())

    struct State {
        var key: APIKey?
        var body: TemplateObject?
        /// Set when a backend decorator takes over writing the audit record (when its stream ends).
        var recordedByBackend = false
        /// The stored prompt a `prompt:` model resolved to (`greet@production → v3`).
        var prompt: String?
    }

    init(method: String, path: String) {
        self.id = "req-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
        self.method = method
        self.path = path
    }

    var key: APIKey? {
        get { state.withLock { $0.key } }
        set { state.withLock { $0.key = newValue } }
    }

    var body: TemplateObject? {
        get { state.withLock { $0.body } }
        set { state.withLock { $0.body = newValue } }
    }

    var prompt: String? {
        get { state.withLock { $0.prompt } }
        set { state.withLock { $0.prompt = newValue } }
    }

    var recordedByBackend: Bool { state.withLock { $0.recordedByBackend } }

    func handOverRecord() { state.withLock { $0.recordedByBackend = true } }

    /// Milliseconds since the request arrived.
    var elapsedMs: Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) * 1e-15
    }
}
