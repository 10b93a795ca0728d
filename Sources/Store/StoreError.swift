/// What went wrong in the Store, in the caller's terms.
public enum StoreError: Error, Equatable, CustomStringConvertible, Sendable {
    /// SQLite failed (disk full, file unreadable, …).
    case database(String)
    /// A named thing does not exist (`what` is e.g. "key 12", "prompt 'greet'").
    case notFound(String)
    /// The input cannot be stored as given.
    case invalid(String)

    public var description: String {
        switch self {
        case .database(let m): m
        case .notFound(let what): "There is no \(what)."
        case .invalid(let m): m
        }
    }

    static func wrap(_ error: any Error) -> StoreError {
        if let e = error as? StoreError { return e }
        return .database("The Studio database failed: \(error)")
    }
}
