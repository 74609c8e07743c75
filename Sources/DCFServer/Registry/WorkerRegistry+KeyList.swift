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
    /// and admin-added keys stay. Does nothing without a key list. Disabled workers stay disabled.
    ///
    /// - Throws: `KeyListFile.InvalidLines` or a read error, in which case nothing changes.
    public func reloadKeyList() throws -> KeyListReload {
        try reloadKeyList(mode: mode)
    }

    /// Rereads the key list that `newMode` names, which may be another file than before (on SIGHUP after
    /// `[workers] key_list` changed), and keeps using that file from then on.
    ///
    /// - Throws: `ConfigurationError` when `newMode` switches between safe and unsafe mode, which needs a
    ///   restart; `KeyListFile.InvalidLines` or a read error. On any error nothing changes.
    public func reloadKeyList(mode newMode: AdmissionMode) throws -> KeyListReload {
        switch (mode, newMode) {
        case (.safe, .safe(let keyList)):
            return try reload(keyList, initial: false)
        case (.unsafe, .unsafe):
            return KeyListReload()
        default:
            throw ConfigurationError(
                "the reloaded configuration switches from \(mode.name) to \(newMode.name) mode, which takes a "
                    + "restart; the server keeps running in \(mode.name) mode with its current key list")
        }
    }

    /// Applies `keyList`. With `initial`, the read at start, the log line reads "loaded" in place of "reloaded".
    func reload(_ keyList: KeyListFile?, initial: Bool) throws -> KeyListReload {
        guard let keyList else {
            currentMode.withLock { $0 = .safe(keyList: nil) }
            return KeyListReload()
        }
        let keys = Set(try keyList.load())
        let reload = try state.withLock { state throws -> KeyListReload in
            try Self.apply(keys: keys, to: state)
        }
        currentMode.withLock { $0 = .safe(keyList: keyList) }
        logger.info(
            initial ? "loaded key list" : "reloaded key list",
            [("path", keyList.url.path), ("keys", String(keys.count)), ("added", String(reload.added.count)),
             ("removed", String(reload.removed.count))])
        return reload
    }

    private static func apply(keys: Set<String>, to state: State) throws -> KeyListReload {
        var reload = KeyListReload()
        var upserts: [WorkerRecord] = []
        for key in keys.sorted() {
            let id = WorkerID(key)!
            guard state.records[id] == nil else { continue }
            upserts.append(WorkerRecord(id: id, publicKey: key, status: .allowed, source: .keyList))
            reload.added.append(id)
        }
        for record in state.records.all where record.source == .keyList && !keys.contains(record.publicKey) {
            reload.removed.append(record.id)
            if record.isRegistered { reload.changes.append(.unregistered(record.id)) }
        }
        reload.removed.sort()
        try state.commit(upserts: upserts, deletions: reload.removed)
        return reload
    }
}
