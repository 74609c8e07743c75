// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol

extension WorkerRegistry {
    /// Allows a key (admin `POST /admin/workers`), registering it at once when `registered` is true.
    ///
    /// - Throws: `bad_request` for a malformed or unusable key, `conflict` when the key is already known.
    public func addWorker(publicKey: String, registered: Bool) throws -> (WorkerRecord, [RegistrationChange]) {
        guard let key = PublicKeyHex.normalize(publicKey) else {
            throw DCFErrorResponse(
                .badRequest, "public_key_str \"\(publicKey.prefix(80))\" is not 64 hex digits (an Ed25519 public key)")
        }
        if let reason = PublicKeyHex.unusableReason(key) {
            throw DCFErrorResponse(
                .badRequest, "public_key_str \(key) cannot be a worker key: \(reason); make a key pair with "
                    + "dcf-agent keygen")
        }
        let id = WorkerID(key)!
        let record = WorkerRecord(
            id: id, publicKey: key, status: registered ? .registered : .allowed, source: .admin)
        try state.withLock { state in
            guard state.records[id] == nil else {
                throw DCFErrorResponse(
                    .conflict, "worker \(id.short) already exists; change its registration status instead "
                        + "(PUT /admin/workers/ID, or dcfctl enable or disable)")
            }
            try state.commit(upserts: [record])
        }
        return (record, registered ? [.registered(id)] : [])
    }

    /// Forgets a worker (admin `DELETE /admin/workers/<id>`).
    ///
    /// - Throws: `not_found` for an unknown id; `conflict` for a worker whose key comes from the key list in use,
    ///   because the next reload would add it again. Such a worker is removed from the key list file and a
    ///   reload, or disabled with `setRegistered(_:_:)`. A worker from a key list that the server no longer uses
    ///   (`workers.key_list` was unset) can be removed, because nothing would add it again.
    public func removeWorker(_ id: WorkerID) throws -> (WorkerRecord, [RegistrationChange]) {
        let keyListPath: String? = if case .safe(let keyList?) = mode { keyList.url.path } else { nil }
        return try state.withLock { state throws -> (WorkerRecord, [RegistrationChange]) in
            guard let record = state.records[id] else { throw Self.notFound(id) }
            if record.source == .keyList, let keyListPath {
                throw DCFErrorResponse(
                    .conflict,
                    "worker \(id.short) comes from the key list \(keyListPath); remove its key from that "
                        + "file and reload the server (SIGHUP), or disable it (dcfctl disable ID, or PUT {\"registered\": false})")
            }
            try state.commit(deletions: [id])
            return (record, record.isRegistered ? [.unregistered(id)] : [])
        }
    }

    /// Registers or unregisters a worker (admin `PUT /admin/workers/<id>`).
    /// Unregistering disables the worker, so it cannot register itself again.
    public func setRegistered(_ id: WorkerID, _ registered: Bool) throws -> (WorkerRecord, [RegistrationChange]) {
        try state.withLock { state throws -> (WorkerRecord, [RegistrationChange]) in
            guard var record = state.records[id] else { throw Self.notFound(id) }
            let wasRegistered = record.isRegistered
            record.status = registered ? .registered : .disabled
            if record != state.records[id] { try state.commit(upserts: [record]) }
            switch (wasRegistered, registered) {
            case (false, true): return (record, [.registered(id)])
            case (true, false): return (record, [.unregistered(id)])
            default: return (record, [])
            }
        }
    }

    private static func notFound(_ id: WorkerID) -> DCFErrorResponse {
        DCFErrorResponse(.notFound, "no worker with id \(id.rawValue); GET /admin/workers (dcfctl list) shows the known ids")
    }
}
