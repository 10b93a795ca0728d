import Foundation
import ModelHub

/// Draws download progress: a redrawn bar (bytes, rate, ETA) on a terminal, or a plain line
/// every few seconds when stdout is a pipe or a CI log.
final class ProgressBar: @unchecked Sendable {
    enum Stream { case standardOutput, standardError }
    private let stream: Stream
    private let interactive: Bool
    private let lock = NSLock()
    private var start = Date()
    private var lastLine = Date.distantPast
    private var drawn = false

    init(stream: Stream = .standardOutput) {
        self.stream = stream
        interactive = stream == .standardOutput ? Terminal.isInteractive : Terminal.isErrorInteractive
    }

    private func emit(_ s: String) {
        (stream == .standardOutput ? FileHandle.standardOutput : FileHandle.standardError).write(Data(s.utf8))
    }

    /// Shows one event of a pull: progress on the bar, messages as lines on the bar's stream,
    /// failed sources on stderr.
    func show(_ event: PullEvent, pulling model: String) {
        switch event {
        case let .progress(bytes, total): update(bytes: bytes, total: total)
        case let .trying(source):
            breakLine()
            emit("pulling \(model) from \(source)\n")
            restart()
        case let .note(text): breakLine(); emit(text + "\n")
        case let .sourceFailed(source, reason): breakLine(); Terminal.error("\(source) failed: \(reason)")
        }
    }

    func restart() { lock.withLock { start = Date(); lastLine = .distantPast } }

    func update(bytes: Int64, total: Int64?) {
        lock.withLock {
            let elapsed = max(Date().timeIntervalSince(start), 0.001)
            let rate = Double(bytes) / elapsed
            let done = total.map { bytes >= $0 } ?? false
            if interactive {
                let width = 30
                var line: String
                if let total, total > 0 {
                    let fraction = min(Double(bytes) / Double(total), 1)
                    let filled = Int(fraction * Double(width))
                    let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
                    let eta = rate > 0 ? Double(total - bytes) / rate : .infinity
                    line = String(format: "%@ %3.0f%% %@ / %@  %@/s  ETA %@", bar, fraction * 100, Terminal.bytes(bytes), Terminal.bytes(total), Terminal.bytes(Int64(rate)), Terminal.duration(eta))
                } else {
                    line = "\(Terminal.bytes(bytes))  \(Terminal.bytes(Int64(rate)))/s"
                }
                emit("\r\u{1B}[2K" + line)
                drawn = true
                if done { emit("\n"); drawn = false }
            } else if done || Date().timeIntervalSince(lastLine) >= 5 {
                lastLine = Date()
                let totalText = total.map { " of \(Terminal.bytes($0)) (\(Int(Double(bytes) / Double(max($0, 1)) * 100))%)" } ?? ""
                emit("downloaded \(Terminal.bytes(bytes))\(totalText), \(Terminal.bytes(Int64(rate)))/s\n")
            }
        }
    }

    /// Ends a half-drawn bar before other output.
    func breakLine() {
        lock.withLock { if drawn { emit("\n"); drawn = false } }
    }
}
