// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
public import Foundation

extension WorkerRegistry {
    /// Reads the workers that the registry database in `stateDirectory` stores as registered, for a strategy that
    /// must decide about a worker's stored data before the server opens the registry. Returns nil when the
    /// database is missing or empty, and never creates it.
    ///
    /// The server applies the key list when it opens the registry, which removes the workers that came from the
    /// key list and are no longer on it. With `keyListKeys`, the keys of the key list the server starts with,
    /// such workers are left out here too.
    ///
    /// - Throws: `SQLiteError` when the database cannot be read.
    public static func storedRegisteredWorkers(stateDirectory: URL, keyListKeys: Set<String>? = nil) throws
        -> Set<WorkerID>?
    {
        guard !WorkerStore.isMissing(in: stateDirectory) else { return nil }
        let records = try WorkerStore(directory: stateDirectory).loadAll()
        return Set(
            records.filter { record in
                guard record.isRegistered else { return false }
                guard let keyListKeys, record.source == .keyList else { return true }
                return keyListKeys.contains(record.publicKey)
            }.map(\.id))
    }
}
