import Foundation

/// Runs the built `studio` executable (it sits beside the test bundle in .build/<config>/) and
/// captures what a user would see.
struct StudioProcess {
    struct Output { let status: Int32; let stdout: String; let stderr: String }

    static var executable: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // Swift Testing on Linux runs `<config>/StudioPackageTests.xctest`; XCTest may pass a nested path.
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("studio").path), dir.path != "/" {
            dir.deleteLastPathComponent()
        }
        return dir.appendingPathComponent("studio")
    }

    @discardableResult
    static func run(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) throws -> Output {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes concurrently so a full pipe never blocks the child.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    /// The cache the real-model tests read: STUDIO_HOME or ~/.cache/studio.
    static var studioHome: URL {
        if let h = ProcessInfo.processInfo.environment["STUDIO_HOME"], !h.isEmpty { return URL(fileURLWithPath: h) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/studio")
    }

    static func modelPath(_ name: String) throws -> String {
        let path = studioHome.appendingPathComponent("models/\(name).gguf").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingModel(name: name)
        }
        return path
    }

    struct MissingModel: Error, CustomStringConvertible {
        let name: String
        var description: String { "\(name) is not in the cache; run `studio pull \(name)` (scripts/test.sh does it)." }
    }
}
