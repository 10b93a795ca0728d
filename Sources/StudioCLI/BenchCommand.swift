import ArgumentParser
import Foundation
import Inference
import ModelFormats
import Models

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt processing (pp) and token generation (tg) speed, as llama-bench does.",
        discussion: """
            pp runs -p random tokens through one batched forward pass; tg generates -n tokens one
            step at a time; both from an empty context. Each test is warmed up once, then repeated
            -r times: the table gives the mean tokens/s ± standard deviation, and the peak RSS.

            Examples:
              studio bench qwen2.5-coder:0.5b
              studio bench smollm2:135m -p 512 -n 128 -t 1,2 -r 3 --json
              studio bench qwen2.5-coder:0.5b --batch 1,2,3,4 -n 32 -t 2

            --batch B,... measures what a server's decode step costs instead: B sequences, each
            with a --context-token prompt already cached, advance one token each per batched
            forward pass, -n times; it reports milliseconds per step and tokens/s over all B.
            """)

    @Argument(help: "An alias, an installed name, or a path to a GGUF file.")
    var model: String

    @Option(name: .short, help: "Prompt tokens for the pp test (0 skips it).")
    var p: Int = 512

    @Option(name: .short, help: "Generated tokens for the tg test (0 skips it).")
    var n: Int = 128

    @Option(name: .short, help: "Thread counts, comma-separated.")
    var t: String = "\(ProcessInfo.processInfo.activeProcessorCount)"

    @Option(name: .short, help: "Repetitions of each test.")
    var r: Int = 3

    @Option(help: "Batch sizes for the batched decode test, comma-separated (e.g. 1,2,3,4); replaces pp/tg.")
    var batch: String?

    @Option(help: "Tokens already cached in each sequence before the batched decode test.")
    var context: Int = 64

    @Flag(help: "Print JSON.")
    var json = false

    var threads: [Int] { t.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
    var batchSizes: [Int] { (batch ?? "").split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        if p < 0 || n < 0 || (p == 0 && n == 0) { throw ValidationError("-p and -n must be ≥ 0 and not both 0.") }
        if p > 32768 || n > 32768 { throw ValidationError("-p and -n must be at most 32768.") }
        if r < 1 || r > 100 { throw ValidationError("-r must be between 1 and 100, got \(r).") }
        if let batch {
            let sizes = batchSizes
            if sizes.isEmpty || sizes.count != batch.split(separator: ",").count || sizes.contains(where: { $0 < 1 || $0 > 64 }) {
                throw ValidationError("--batch takes batch sizes between 1 and 64 separated by commas, e.g. 1,2,4; got \(batch).")
            }
            if context < 1 || context > 32768 { throw ValidationError("--context must be between 1 and 32768, got \(context).") }
            if n < 1 { throw ValidationError("-n must be at least 1 for --batch.") }
        }
        let list = threads
        if list.isEmpty || list.count != t.split(separator: ",").count || list.contains(where: { $0 < 1 || $0 > 512 }) {
            throw ValidationError("-t takes thread counts between 1 and 512 separated by commas, e.g. 1,2; got \(t).")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let path = try await ModelOptions(model: model).resolvePath()
            if batch != nil { return try runBatched(path: path) }
            let summary = GGUFSummary(try GGUFFile(path: path))
            let header = ["model", "size", "params", "threads", "test", "t/s"]
            var rows: [[String]] = []
            if !json { printTable([header]) }
            let results = try Bench.run(path: path, promptTokens: p, generatedTokens: n, threads: threads, repetitions: r) { result in
                guard !json else { return }
                let row = ["\(summary.architecture ?? "?") \(summary.fileType ?? "")", Terminal.bytes(Int64(summary.fileSize)),
                           Terminal.count(summary.parameterCount), "\(result.threads)", result.test,
                           String(format: "%.2f ± %.2f", result.mean, result.standardDeviation)]
                rows.append(row)
                print(row.joined(separator: "  "))
            }
            let peak = PeakMemory.residentBytes()
            if json {
                let object: [String: Any] = [
                    "model": model, "path": path, "size": summary.fileSize, "params": summary.parameterCount,
                    "peak_rss_bytes": peak,
                    "results": results.map { ["test": $0.test, "threads": $0.threads, "samples": $0.samples,
                                              "mean": $0.mean, "sd": $0.standardDeviation] as [String: Any] },
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
            } else {
                print("peak RSS \(Terminal.bytes(Int64(peak)))")
            }
        }
    }
}

extension BenchCommand {
    /// The batched decode test: per thread count and batch size, ms per step and tokens/s.
    func runBatched(path: String) throws {
        var rows: [[String: Any]] = []
        if !json { print(["threads", "batch", "context", "ms/step", "t/s"].joined(separator: "  ")) }
        for threadCount in threads {
            for size in batchSizes {
                let r = try BatchedDecodeBench.run(path: path, threads: threadCount, batch: size, context: context,
                                                   steps: n, repetitions: r)
                let tokensPerSecond = r.map { Double(size) * 1000 / $0 }
                let msMean = r.reduce(0, +) / Double(r.count)
                let tpsMean = tokensPerSecond.reduce(0, +) / Double(r.count)
                let sd = tokensPerSecond.count > 1
                    ? (tokensPerSecond.reduce(0) { $0 + ($1 - tpsMean) * ($1 - tpsMean) } / Double(tokensPerSecond.count - 1)).squareRoot() : 0
                if json {
                    rows.append(["threads": threadCount, "batch": size, "context": context, "ms_per_step": r,
                                 "mean_ms_per_step": msMean, "tokens_per_second": tpsMean, "sd": sd])
                } else {
                    print("\(threadCount)  \(size)  \(context)  " + String(format: "%.2f  %.2f ± %.2f", msMean, tpsMean, sd))
                }
            }
        }
        if json {
            let object: [String: Any] = ["model": model, "path": path, "results": rows]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
        }
    }
}

/// What one decode step of a server costs with `batch` sequences running: each sequence holds
/// a `context`-token prompt in its own cache, then every step advances all of them by one token
/// in one `forward(sequences:)`, as the scheduler does. Returns milliseconds per step, one
/// figure per repetition (after one warm-up run).
enum BatchedDecodeBench {
    static func run(path: String, threads: Int, batch: Int, context: Int, steps: Int, repetitions: Int) throws -> [Double] {
        let loaded = try ModelLoader.load(path: path, threads: threads, maxBatch: max(context, batch))
        let vocabulary = loaded.config.vocabularySize
        let caches = try (0..<batch).map { _ in try loaded.makeCache(capacity: context + steps + 1) }
        var rng = SeededRandom(seed: 99)
        var logits: [Float] = []
        let clock = ContinuousClock()
        func randomToken() -> Int { Int(rng.next() % UInt64(vocabulary)) }
        func measure() throws -> Double {
            for cache in caches {
                cache.reset()
                try loaded.model.forward(tokens: (0..<context).map { _ in randomToken() }, cache: cache, logits: .last, into: &logits)
            }
            var inputs = caches.map { SequenceInput(tokens: [randomToken()], cache: $0, logits: .last) }
            var ranges: [Range<Int>] = []
            let elapsed = try clock.measure {
                for _ in 0..<steps {
                    try loaded.model.forward(sequences: inputs, into: &logits, ranges: &ranges)
                    for i in inputs.indices { inputs[i].tokens[0] = randomToken() }
                }
            }
            return elapsed.seconds * 1000 / Double(steps)
        }
        _ = try measure()
        return try (0..<repetitions).map { _ in try measure() }
    }
}

/// The process's peak resident set size.
enum PeakMemory {
    static func residentBytes() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024  // Linux reports kilobytes
    }
}
