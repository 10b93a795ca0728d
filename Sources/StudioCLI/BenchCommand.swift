import ArgumentParser
import Foundation
import Inference
import ModelFormats

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

    @Flag(help: "Print JSON.")
    var json = false

    var threads: [Int] { t.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        if p < 0 || n < 0 || (p == 0 && n == 0) { throw ValidationError("-p and -n must be ≥ 0 and not both 0.") }
        if p > 32768 || n > 32768 { throw ValidationError("-p and -n must be at most 32768.") }
        if r < 1 || r > 100 { throw ValidationError("-r must be between 1 and 100, got \(r).") }
        let list = threads
        if list.isEmpty || list.count != t.split(separator: ",").count || list.contains(where: { $0 < 1 || $0 > 512 }) {
            throw ValidationError("-t takes thread counts between 1 and 512 separated by commas, e.g. 1,2; got \(t).")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let path = try await ModelOptions(model: model).resolvePath()
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

/// The process's peak resident set size.
enum PeakMemory {
    static func residentBytes() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024  // Linux reports kilobytes
    }
}
