import Foundation

/// The engine is built for x86-64 with AVX2, FMA and F16C (`-target-cpu haswell`); on a CPU
/// without them its first instruction would crash. This runs first and refuses with a sentence.
/// (This file is compiled without the CPU target, so the check itself runs anywhere.)
enum CPUSupport {
    static let required = ["avx2", "fma", "f16c"]

    static func missingFeatures() -> [String] {
        #if arch(x86_64) && os(Linux)
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return [] }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        return required.filter { !flags.contains($0) }
        #else
        return []
        #endif
    }

    static func check() throws {
        let missing = missingFeatures()
        guard missing.isEmpty else {
            throw CPUError(missing: missing)
        }
    }

    struct CPUError: Error, CustomStringConvertible {
        let missing: [String]
        var description: String {
            "This build of Studio needs a CPU with \(CPUSupport.required.joined(separator: ", ").uppercased()); this one lacks \(missing.joined(separator: ", ").uppercased())."
        }
    }
}
