import Foundation
@testable import Store

/// A fresh database in a temporary folder, removed when the test's scope ends.
final class TemporaryStore {
    let folder: URL
    let store: Store

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-tests-\(UUID().uuidString)")
        store = try Store.open(path: folder.appendingPathComponent("studio.sqlite").path)
    }

    var database: StudioDatabase { store.database! }

    deinit { try? FileManager.default.removeItem(at: folder) }
}
