// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
public import DCFProtocol
public import DCFSupport
public import Foundation
import Synchronization

/// The workers the server knows, their keys and registration status, persisted in the state directory.
///
/// Every change is written to SQLite before it is visible in memory, so a crash never shows a
/// status that was not stored. Methods that change status return the `RegistrationChange`s
/// the caller must pass to the strategy, so callbacks fire exactly when a status changes.
public final class WorkerRegistry: Sendable {
    /// The writer's side: held for each change from the check before it to its SQLite commit, so changes apply
    /// one at a time. Readers never take it and so never wait for the database.
    struct State {
        let store: WorkerStore
        let records: RecordTable

        /// Stores the changes in SQLite, then makes them visible to readers.
        func commit(upserts: [WorkerRecord] = [], deletions: [WorkerID] = []) throws {
            try store.apply(upserts: upserts, deletions: deletions)
            records.apply(upserts: upserts, deletions: deletions)
        }
    }

    /// The admission mode; a reload may replace its key list but never switch between safe and unsafe.
    public var mode: AdmissionMode { currentMode.withLock { $0 } }
    let currentMode: Mutex<AdmissionMode>
    let state: Mutex<State>
    /// The records as request handling reads them, under a lock held only for a lookup or a copy.
    let records: RecordTable
    let logger: Logger
    /// The number of workers past which an unsafe-mode registration is rejected.
    let maximumUnsafeRegistrations: Int

    /// Opens the registry in `stateDirectory` and, in safe mode, applies the key list.
    ///
    /// - Parameter maximumUnsafeRegistrations: in unsafe mode, registrations are rejected with `unavailable`
    ///   while the registry contains this many workers.
    /// - Throws: `KeyListFile.InvalidLines`, a file system error, or an SQLite error naming the database.
    public init(
        stateDirectory: URL, mode: AdmissionMode, maximumUnsafeRegistrations: Int = 100_000, logger: Logger
    ) throws {
        let store = try WorkerStore(directory: stateDirectory)
        let records = try store.loadAll()
        self.currentMode = Mutex(mode)
        self.logger = logger
        self.maximumUnsafeRegistrations = maximumUnsafeRegistrations
        let table = RecordTable(records)
        self.records = table
        self.state = Mutex(State(store: store, records: table))
        try dropUnusableKeys()
        if case .safe(let keyList) = mode {
            try dropUnsafeRecords()
            if let keyList { _ = try reload(keyList, initial: true) }
        }
    }

    /// Returns the SQLite database file that stores the registry in `stateDirectory`.
    public static func databaseFile(stateDirectory: URL) -> URL {
        stateDirectory.appendingPathComponent(WorkerStore.fileName)
    }

    /// Returns whether the registry database in `stateDirectory` is missing or has zero bytes, so that opening
    /// the registry there starts it empty.
    public static func databaseIsMissing(stateDirectory: URL) -> Bool {
        WorkerStore.isMissing(in: stateDirectory)
    }

    /// Every known worker, sorted by id.
    public var workers: [WorkerRecord] {
        records.all.sorted { $0.id < $1.id }
    }

    public func record(for id: WorkerID) -> WorkerRecord? {
        records[id]
    }

    /// Checks that `id` may receive a nonce: a known, not disabled worker, or in unsafe mode any well-formed public
    /// key. A key of small order is rejected by `signingKey(for:registering:)`, which every caller runs next to
    /// check the request's signature.
    public func checkNonceEligibility(_ id: WorkerID) throws(DCFErrorResponse) {
        let record = record(for: id)
        if let record {
            guard record.status != .disabled else { throw Self.disabled(id) }
            return
        }
        guard case .unsafe = mode, PublicKeyHex.normalize(id.rawValue) != nil else { throw Self.unknownKey(id) }
    }

    /// Returns the public key that must have signed a request from `id`.
    ///
    /// On `POST /dcf/register` in unsafe mode the id is the key itself, so any well-formed key is returned.
    public func signingKey(for id: WorkerID, registering: Bool) throws(DCFErrorResponse) -> String {
        if let record = record(for: id) { return record.publicKey }
        if registering, case .unsafe = mode, let key = PublicKeyHex.normalize(id.rawValue) {
            if let reason = PublicKeyHex.unusableReason(key) { throw Self.unusableKey(id, reason) }
            return key
        }
        throw Self.unknownKey(id)
    }

    /// Checks that `id` is registered, as every worker request but registration requires.
    public func checkRegistered(_ id: WorkerID) throws(DCFErrorResponse) {
        guard let record = record(for: id) else { throw Self.unknownKey(id) }
        guard record.isRegistered else {
            throw DCFErrorResponse(
                .unregisteredWorker,
                record.status == .disabled
                    ? "worker \(id.short) was disabled by an admin; the server's admin enables it again with "
                        + "\"dcfctl enable \(id.short)\""
                    : "worker \(id.short) is not registered; call POST \(DCFRoute.registerPath) first")
        }
    }

    /// Registers the worker that signed a `POST /dcf/register` as `id`.
    ///
    /// - Parameter bodyKey: the `public_key` from the request body; unsafe mode requires it to equal `id`.
    /// - Returns: the worker's record (in unsafe mode under a fresh id) and the status change, if any.
    public func register(_ id: WorkerID, bodyKey: String?) throws -> (WorkerRecord, [RegistrationChange]) {
        if case .unsafe = mode { return try registerUnsafe(id, bodyKey: bodyKey) }
        return try state.withLock { state throws -> (WorkerRecord, [RegistrationChange]) in
            guard var record = state.records[id] else { throw Self.unknownKey(id) }
            if let bodyKey, PublicKeyHex.normalize(bodyKey) != record.publicKey {
                throw DCFErrorResponse(.badRequest, "public_key in the body does not match worker \(id.short)")
            }
            switch record.status {
            case .disabled: throw Self.disabled(id)
            case .registered: return (record, [])
            case .allowed:
                record.status = .registered
                try state.commit(upserts: [record])
                return (record, [.registered(id)])
            }
        }
    }

    private func registerUnsafe(_ id: WorkerID, bodyKey: String?) throws -> (WorkerRecord, [RegistrationChange]) {
        guard let key = PublicKeyHex.normalize(id.rawValue) else { throw Self.unknownKey(id) }
        guard let bodyKey else {
            throw DCFErrorResponse(.badRequest, "unsafe mode needs {\"public_key\": \"<hex>\"} in the register body")
        }
        guard PublicKeyHex.normalize(bodyKey) == key else {
            throw DCFErrorResponse(.badRequest, "public_key in the body does not match \(DCFHeader.workerID)")
        }
        let record = WorkerRecord(id: try Self.freshWorkerID(), publicKey: key, status: .registered, source: .unsafe)
        try state.withLock { state in
            // Each unsafe registration adds a record, even for a key registered before.
            guard state.records.count < maximumUnsafeRegistrations else {
                logger.warning(
                    "unsafe-mode registration rejected: the registry is full",
                    [("workers", String(state.records.count)), ("max_workers", String(maximumUnsafeRegistrations))])
                throw DCFErrorResponse(
                    .unavailable,
                    "the server holds its maximum of \(maximumUnsafeRegistrations) workers (limits.max_workers); its "
                        + "admin can remove unused workers with dcfctl remove or raise the limit")
            }
            try state.commit(upserts: [record])
        }
        return (record, [.registered(record.id)])
    }

    /// Removes workers admitted by an earlier run in unsafe mode, which safe mode must not admit.
    private func dropUnsafeRecords() throws {
        let dropped = try state.withLock { state throws -> [WorkerID] in
            let ids = state.records.all.filter { $0.source == .unsafe }.map(\.id)
            guard !ids.isEmpty else { return [] }
            try state.commit(deletions: ids)
            return ids
        }
        if !dropped.isEmpty {
            logger.warning("removed workers admitted in unsafe mode", [("count", String(dropped.count))])
        }
    }

    /// Removes workers whose stored key no signature can be trusted from, which older versions admitted.
    private func dropUnusableKeys() throws {
        let dropped = try state.withLock { state throws -> [WorkerID] in
            let ids = state.records.all.filter { PublicKeyHex.unusableReason($0.publicKey) != nil }.map(\.id)
            guard !ids.isEmpty else { return [] }
            try state.commit(deletions: ids)
            return ids
        }
        for id in dropped {
            logger.error(
                "removed a worker whose public key is not a usable Ed25519 key; signatures for it could be forged",
                [("worker", id.short)])
        }
    }

    /// Returns 32 random hex digits; 128 bits make a collision with an existing id negligible.
    static func freshWorkerID() throws -> WorkerID {
        WorkerID(Hex.encode(try SecureRandom.bytes(count: 16)))!
    }

    static func unknownKey(_ id: WorkerID) -> DCFErrorResponse {
        DCFErrorResponse(
            .unknownKey,
            "worker \(id.short) is not in the allowed keys; ask the admin to add its public key (the agent logs it "
                + "as public_key when it starts)")
    }

    /// Returns the error for a key that no signature can be trusted from. Unsafe mode admits any key but this kind.
    static func unusableKey(_ id: WorkerID, _ reason: String) -> DCFErrorResponse {
        DCFErrorResponse(
            .unknownKey, "worker \(id.short) cannot be admitted because of its public key: \(reason); make a key "
                + "pair with dcf-agent keygen")
    }

    static func disabled(_ id: WorkerID) -> DCFErrorResponse {
        DCFErrorResponse(
            .unregisteredWorker,
            "worker \(id.short) was disabled by an admin; the server's admin enables it again with "
                + "\"dcfctl enable \(id.short)\"")
    }
}

/// Worker records by id behind a lock that is held only to look one up, copy them or apply a committed change.
final class RecordTable: Sendable {
    private let records: Mutex<[WorkerID: WorkerRecord]>

    init(_ records: [WorkerRecord]) {
        self.records = Mutex(Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) }))
    }

    subscript(id: WorkerID) -> WorkerRecord? {
        records.withLock { $0[id] }
    }

    var all: [WorkerRecord] {
        records.withLock { Array($0.values) }
    }

    var count: Int {
        records.withLock { $0.count }
    }

    func apply(upserts: [WorkerRecord], deletions: [WorkerID]) {
        records.withLock { records in
            for record in upserts { records[record.id] = record }
            for id in deletions { records[id] = nil }
        }
    }
}
