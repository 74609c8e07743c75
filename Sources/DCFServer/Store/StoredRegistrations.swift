// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
public import Foundation

extension WorkerRegistry {
    /// Reads the workers that the registry database in `stateDirectory` stores as registered, for a strategy that
    /// must decide about a worker's stored data before the server opens the registry. Returns nil when the
    /// database is missing or empty, and never creates it.
    ///
    /// The server applies the key list when it opens the registry, so a worker whose key left the key list while
    /// the server was down is still registered here.
    ///
    /// - Throws: `SQLiteError` when the database cannot be read.
    public static func storedRegisteredWorkers(stateDirectory: URL) throws -> Set<WorkerID>? {
        guard !WorkerStore.isMissing(in: stateDirectory) else { return nil }
        let records = try WorkerStore(directory: stateDirectory).loadAll()
        return Set(records.filter(\.isRegistered).map(\.id))
    }
}
