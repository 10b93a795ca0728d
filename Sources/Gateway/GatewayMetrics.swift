// The server's Prometheus metrics, kept in one small registry (counters and fixed-bucket
// histograms under a mutex) and written in the Prometheus text format at `/metrics`. Gauges
// that describe the engine (queue depth, active sequences, KV-cache use) are read from the
// backend at scrape time.

import Backends
import Foundation
import Synchronization

/// Counters and histograms of the HTTP server.
public final class GatewayMetrics: Sendable {
    /// Histogram bucket upper bounds, in seconds.
    static let ttftBuckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
    static let latencyBuckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

    struct Histogram {
        let bounds: [Double]
        var counts: [Int]
        var sum: Double = 0
        var count = 0

        init(bounds: [Double]) {
            self.bounds = bounds
            counts = [Int](repeating: 0, count: bounds.count)
        }

        mutating func observe(_ v: Double) {
            for (i, b) in bounds.enumerated() where v <= b { counts[i] += 1 }
            sum += v
            count += 1
        }
    }

    struct State {
        /// Requests by (path, status code).
        var requests: [String: Int] = [:]
        var promptTokens = 0
        var completionTokens = 0
        var ttft = Histogram(bounds: GatewayMetrics.ttftBuckets)
        var latency = Histogram(bounds: GatewayMetrics.latencyBuckets)
    }

    private let state = Mutex(State())

    public init() {}

    func request(path: String, status: Int) {
        let key = "path=\"\(Self.escape(path))\",status=\"\(status)\""
        state.withLock { $0.requests[key, default: 0] += 1 }
    }

    func latency(_ seconds: Double) { state.withLock { $0.latency.observe(seconds) } }

    func timeToFirstToken(_ seconds: Double) { state.withLock { $0.ttft.observe(seconds) } }

    func tokens(_ usage: BackendUsage) {
        state.withLock {
            $0.promptTokens += usage.promptTokens
            $0.completionTokens += usage.completionTokens
        }
    }

    /// The Prometheus text exposition of everything, with the backend's gauges.
    func render(models: [BackendModelStats]) -> String {
        let s = state.withLock { $0 }
        var out = ""
        func header(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        header("studio_requests_total", "counter", "HTTP requests by path and status code.")
        for key in s.requests.keys.sorted() { out += "studio_requests_total{\(key)} \(s.requests[key]!)\n" }
        header("studio_prompt_tokens_total", "counter", "Prompt tokens processed.")
        out += "studio_prompt_tokens_total \(s.promptTokens)\n"
        header("studio_completion_tokens_total", "counter", "Tokens generated.")
        out += "studio_completion_tokens_total \(s.completionTokens)\n"
        histogram(&out, "studio_time_to_first_token_seconds", "Time from request to first generated token.", s.ttft)
        histogram(&out, "studio_request_duration_seconds", "Time from request to the end of its response.", s.latency)
        func perModel(_ name: String, _ type: String, _ help: String, _ value: (BackendModelStats) -> String) {
            header(name, type, help)
            for m in models { out += "\(name){model=\"\(Self.escape(m.id))\"} \(value(m))\n" }
        }
        perModel("studio_queue_depth", "gauge", "Requests waiting for a free slot, per model.") { "\($0.queued)" }
        perModel("studio_active_sequences", "gauge", "Sequences being prefilled or generated, per model.") { "\($0.active)" }
        perModel("studio_slots", "gauge", "Parallel sequence slots, per loaded model.") { "\($0.slots)" }
        perModel("studio_kv_cache_tokens", "gauge", "KV-cache positions in use, per model.") { "\($0.cacheTokensUsed)" }
        perModel("studio_kv_cache_capacity_tokens", "gauge", "KV-cache positions allocated, per model.") { "\($0.cacheTokensCapacity)" }
        perModel("studio_kv_cache_usage_ratio", "gauge", "Fraction of the KV cache in use, per model.") {
            "\($0.cacheTokensCapacity > 0 ? Double($0.cacheTokensUsed) / Double($0.cacheTokensCapacity) : 0)"
        }
        perModel("studio_prompt_tokens_reused_total", "counter", "Prompt tokens served from a cached prefix, per model.") {
            "\($0.reusedPromptTokens)"
        }
        perModel("studio_scheduler_ticks_total", "counter", "Scheduler steps (one batched forward pass each), per model.") {
            "\($0.ticks)"
        }
        perModel("studio_forward_seconds_total", "counter", "Seconds spent in forward passes, per model (busy time of the engine).") {
            "\($0.forwardSeconds)"
        }
        perModel("studio_evaluated_tokens_total", "counter", "Tokens run through the model (prompt chunks and decode steps), per model.") {
            "\($0.evaluatedTokens)"
        }
        header("studio_models_loaded", "gauge", "Models loaded right now.")
        out += "studio_models_loaded \(models.count)\n"
        return out
    }

    private func histogram(_ out: inout String, _ name: String, _ help: String, _ h: Histogram) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (i, b) in h.bounds.enumerated() { out += "\(name)_bucket{le=\"\(b)\"} \(h.counts[i])\n" }
        out += "\(name)_bucket{le=\"+Inf\"} \(h.count)\n\(name)_sum \(h.sum)\n\(name)_count \(h.count)\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
