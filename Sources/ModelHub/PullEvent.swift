/// What a pull reports while it works; the CLI draws these as a progress bar or plain lines.
public enum PullEvent: Sendable {
    case trying(source: String)
    case progress(bytes: Int64, total: Int64?)
    case note(String)
    case sourceFailed(source: String, reason: String)
}

public typealias PullObserver = @Sendable (PullEvent) -> Void
