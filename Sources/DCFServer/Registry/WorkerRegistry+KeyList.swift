// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol

/// What a key-list reload changed.
public struct KeyListReload: Sendable, Hashable {
    public var added: [WorkerID] = []
    public var removed: [WorkerID] = []
    /// Status changes to pass to the strategy: one `unregistered` per removed registered worker.
    public var changes: [RegistrationChange] = []
}

extension WorkerRegistry {
    /// Rereads the key list: new keys become allowed, keys gone from the file are removed (unregistering them),
    /// and admin-added keys stay. Does nothing without a key list.
    ///
    /// - Throws: `KeyListFile.InvalidLine` or a read error, in which case nothing changes.
    public func reloadKeyList() throws -> KeyListReload {
        guard case .safe(let keyList?) = mode else { return KeyListReload() }
        let keys = Set(try keyList.load())
        let reload = try state.withLock { state throws -> KeyListReload in
            try Self.apply(keys: keys, to: &state)
        }
        logger.info(
            "reloaded key list",
            [("path", keyList.url.path), ("keys", String(keys.count)), ("added", String(reload.added.count)),
             ("removed", String(reload.removed.count))])
        return reload
    }

    private static func apply(keys: Set<String>, to state: inout State) throws -> KeyListReload {
        var reload = KeyListReload()
        var upserts: [WorkerRecord] = []
        for key in keys.sorted() {
            let id = WorkerID(key)!
            guard state.records[id] == nil else { continue }
            upserts.append(WorkerRecord(id: id, publicKey: key, status: .allowed, source: .keyList))
            reload.added.append(id)
        }
        for record in state.records.values where record.source == .keyList && !keys.contains(record.publicKey) {
            reload.removed.append(record.id)
            if record.isRegistered { reload.changes.append(.unregistered(record.id)) }
        }
        reload.removed.sort()
        try state.store.apply(upserts: upserts, deletions: reload.removed)
        for record in upserts { state.records[record.id] = record }
        for id in reload.removed { state.records[id] = nil }
        return reload
    }
}
