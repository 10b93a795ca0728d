import ArgumentParser
import Foundation

/// Runs a command body and turns any error into one sentence on stderr and exit status 1,
/// never a stack trace.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch is CancellationError {
        Terminal.error("Interrupted.")
        throw ExitCode(130)
    } catch {
        Terminal.error("error: \(describe(error))")
        throw ExitCode.failure
    }
}

func describe(_ error: Error) -> String {
    if let e = error as? CustomStringConvertible { return e.description }
    return error.localizedDescription
}
