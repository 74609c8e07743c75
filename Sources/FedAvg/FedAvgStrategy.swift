// SPDX-License-Identifier: Apache-2.0
public import DCFProtocol
public import DCFServer
public import DCFSupport
public import Foundation
import Synchronization

/// Federated averaging as a `DCFServer` strategy. Updates are weighted by their training example
/// counts and folded into float64 sums as they arrive. The round closes when `updateLimit` distinct
/// workers have sent one, or at the deadline with at least `minUpdates`.
///
/// Every accepted update is stored in the state directory before the worker is told it was accepted,
/// and every new version is stored before it is published, so after `kill -9` a new instance resumes
/// at the last version with the open round's updates.
public final class FedAvgStrategy: DCFServerCallbacks {
    /// How often a worker may replace its update within one round.
    static let maximumReplacementsPerRound = 2

    public let configuration: FedAvgConfiguration
    let logger: Logger
    let store: ModelVersionStore
    let spool: RoundSpool
    let history: RoundHistory
    let aggregatedBodiesFile: AggregatedBodies
    let state: Mutex<FedAvgState>
    /// The largest safetensors header an update may have; larger ones are rejected before they are parsed.
    let maximumUpdateHeaderBytes: Int
    private let notifier = Mutex<(@Sendable () -> Void)?>(nil)
    let transferCounter = Mutex<(@Sendable () -> (bytesIn: Int, bytesOut: Int))?>(nil)
    private let digestUnsupportedLogged = Atomic<Bool>(false)
    private let deadlineQueue = DispatchQueue(label: "dcf.fedavg.deadline")
    let retryQueue = DispatchQueue(label: "dcf.fedavg.retry")
    /// Deletes the files of aggregated rounds, one round after another, off the path that publishes versions.
    let cleanupQueue = DispatchQueue(label: "dcf.fedavg.cleanup", qos: .utility)
    /// Bounds how many updates are validated at once when the server hands over many finished uploads at the
    /// same moment. Validation reads a spooled update's header and, when the server could not scan it as it
    /// arrived, its values in 64 KiB blocks, so two slots cost little memory and let one update be validated
    /// while another is stored and folded under the lock.
    let readingSlots = DispatchSemaphore(value: 2)

    /// Opens the state directory: resumes at its newest version, or stores `initialModel` as version 1,
    /// then folds the open round's stored updates again.
    ///
    /// - Throws: `FedAvgError` when the settings are invalid, no model exists, or files cannot be read.
    public init(configuration: FedAvgConfiguration, logger: Logger) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        store = ModelVersionStore(stateDirectory: configuration.stateDirectory)
        spool = RoundSpool(stateDirectory: configuration.stateDirectory)
        history = RoundHistory(directory: configuration.stateDirectory)
        aggregatedBodiesFile = AggregatedBodies(stateDirectory: configuration.stateDirectory)
        let leftovers = store.removeLeftovers().map { "models/\($0)" }
            + AtomicFile.removeLeftovers(in: configuration.stateDirectory.path) + spool.removeLeftovers()
        if !leftovers.isEmpty {
            logger.notice(
                "deleted the temporary files of writes interrupted by a crash",
                [("files", leftovers.sorted().joined(separator: " "))])
        }
        try Self.checkNewestModelPresent(store: store, spool: spool, history: history)
        let (version, bytes) = try Self.openLatestModel(store: store, configuration: configuration, logger: logger)
        let model = try Self.parseStoredModel(bytes, version: version, store: store)
        do {
            let recovered = try Self.recoverStagedRecords(history, latestVersion: version, logger: logger)
            if !recovered.isEmpty {
                logger.notice(
                    "added the staged records of rounds stored before a crash or a failed history append",
                    [("versions", recovered.map { String($0.version) }.joined(separator: ","))])
            }
        } catch let error as FedAvgError {
            throw error
        } catch {
            logger.error("cannot recover the staged round record", [("error", String(describing: error))])
        }
        state = Mutex(FedAvgState(version: version, layouts: model.layouts))
        // Every version has the layout of the first, so the bound holds for the server's lifetime.
        maximumUpdateHeaderBytes = UpdateHeaderLimit.maximumByteCount(
            globalHeaderByteCount: Int(UpdateHeaderLimit.declaredByteCount(of: bytes) ?? 0))
        loadAggregatedBodies()
        try recoverOpenRound()
        removeOldVersions(upTo: version)
        scheduleDeadline(forRoundFrom: version)
    }

    /// Reads the digests of the updates that the newest versions contain, which a restart would otherwise forget. A
    /// file that cannot be read only weakens the check for resends, so it is logged and the start goes on.
    ///
    /// Call it before `recoverOpenRound`, which deletes the directories of closed rounds. The cleanup writes the file
    /// before it deletes the directory of the round it follows, so a kill between storing version V and writing the
    /// file leaves `rounds/from-v<V-1>` with the files of the updates that V contains. Their stored digests then
    /// replace the older entries of their workers.
    private func loadAggregatedBodies() {
        var stored: [WorkerID: AggregatedBodies.Entry] = [:]
        do {
            stored = try aggregatedBodiesFile.read()
        } catch is AggregatedBodies.DirectoryInPlace {
            logger.warning(
                "the file of the digests of aggregated updates is a directory, so no round can store them and a worker "
                    + "that sends an update again which a stored version already contains has it counted a second "
                    + "time; remove it",
                [("file", aggregatedBodiesFile.file.path)])
        } catch {
            logger.warning(
                "cannot read the digests of aggregated updates, so a worker that sends an update again which a stored "
                    + "version already contains has it counted a second time; the next round writes the file anew",
                [("file", aggregatedBodiesFile.file.path), ("error", String(describing: error))])
        }
        let version = state.withLock { $0.version }
        if version > 1 {
            // A directory that cannot be listed is left to `recoverOpenRound`, which deletes it.
            for (worker, url) in (try? spool.storedUpdates(roundFrom: version - 1)) ?? [] {
                let digest = spool.storedDigest(of: url)
                if !digest.isEmpty { stored[worker] = (version, digest) }
            }
        }
        state.withLock { state in
            state.aggregatedBodies = AggregatedBodies.pruned(
                stored, current: state.version, maxStaleness: configuration.maxStaleness)
        }
    }

    /// Deletes the versions that `keepVersions` no longer keeps and logs them. A failure is logged, and the
    /// file stays for the next round to try again.
    func removeOldVersions(upTo latest: UInt64) {
        do {
            let (removed, failures) = try store.removeVersions(keepingNewest: configuration.keepVersions, upTo: latest)
            for failure in failures {
                logger.error("cannot delete an old model version", [("error", failure.description)])
            }
            guard !removed.isEmpty else { return }
            logger.info(
                "deleted old model versions", [
                    ("versions", Self.versionList(removed)),
                    ("keep_versions", String(configuration.keepVersions)),
                ])
        } catch {
            logger.error("cannot delete old model versions", [("error", String(describing: error))])
        }
    }

    /// Lists sorted versions compactly, runs of consecutive versions as ranges: `v1, v5 to v7`.
    static func versionList(_ versions: [UInt64]) -> String {
        var runs: [(first: UInt64, last: UInt64)] = []
        for version in versions {
            if let last = runs.last?.last, version == last + 1 {
                runs[runs.count - 1].last = version
            } else {
                runs.append((version, version))
            }
        }
        return runs.map { $0.first == $0.last ? "v\($0.first)" : "v\($0.first) to v\($0.last)" }
            .joined(separator: ", ")
    }

    /// Sets the function called after each new version is stored, normally `DCFServer.globalModelDidChange`.
    public func onGlobalModelChange(_ notify: @escaping @Sendable () -> Void) {
        notifier.withLock { $0 = notify }
    }

    /// Sets the function that returns the server's total bytes received and sent, so each round record
    /// carries the bytes moved during the round. Without it a record counts only update payload bytes in.
    public func setTransferCounter(_ counter: @escaping @Sendable () -> (bytesIn: Int, bytesOut: Int)) {
        transferCounter.withLock { $0 = counter }
        let start = counter()
        state.withLock { $0.round.transferAtStart = start }
    }

    /// The newest global model version.
    public var currentVersion: ModelVersion { ModelVersion(state.withLock { $0.version }) }

    /// The directory that stores the open round's updates, and the number of updates the round contains.
    public var openRound: (directory: URL, updates: Int) {
        state.withLock { (spool.directory(forRoundFrom: $0.version), $0.round.entries.count) }
    }

    // MARK: DCFServerCallbacks

    public func registerWorker(_ workerID: WorkerID) {
        state.withLock { state in
            state.registeredWorkers.insert(workerID)
            state.unregisteredWorkers.remove(workerID)
        }
    }

    /// Forgets the worker and drops its update from the open round: a worker the server no longer trusts (an
    /// admin disabled or removed it, or its key left the key list) must not shape the next version.
    public func unregisterWorker(_ workerID: WorkerID) {
        state.withLock { state in
            state.registeredWorkers.remove(workerID)
            state.unregisteredWorkers.insert(workerID)
            dropUpdate(of: workerID, from: &state)
        }
    }

    /// Drops the recovered updates of workers the server no longer registers, such as those whose keys left
    /// the key list while the server was down, then aggregates the recovered round if it is full. A crash between
    /// storing a round's last update and storing the new version leaves a full round, and only the updates of
    /// registered workers may close it.
    public func retainOnlyRegisteredWorkers(_ registered: Set<WorkerID>) {
        let published = state.withLock { state in
            let recovered = state.round.entries.count
            for workerID in state.round.entries.keys where !registered.contains(workerID) {
                state.unregisteredWorkers.insert(workerID)
                dropUpdate(of: workerID, from: &state)
            }
            if recovered > 0, state.round.entries.isEmpty {
                warnDroppedWholeRound(updates: recovered, roundFrom: state.version)
            }
            return roundCloses(state.round) && aggregateOrScheduleRetry(&state)
        }
        if published { notifyGlobalModelChange() }
    }

    /// Logs a warning that start-up dropped every recovered update. A key list without any of the round's keys
    /// causes this, and so does a registry replaced by an older copy. The registry file is named from the
    /// strategy's state directory, because dcf-serverd gives the strategy and the registry the same one.
    private func warnDroppedWholeRound(updates: Int, roundFrom version: UInt64) {
        let registry = WorkerRegistry.databaseFile(stateDirectory: configuration.stateDirectory)
        logger.warning(
            "dropped every update of the open round because none of their workers is registered. If the worker "
                + "registry was reset or replaced by an older copy, these updates are lost: stop the server and "
                + "restore the newest copy of the registry from a backup, so that workers keep their registrations",
            [("file", registry.path), ("round_from", String(version)), ("updates", String(updates))])
    }

    /// Returns the current version, mapped from its stored file, with the file's URL so the server can send
    /// it from the file; no copy of the model stays in memory.
    public func returnGlobalModel() -> GlobalModel? {
        let version = state.withLock { $0.version }
        do {
            return GlobalModel(
                version: ModelVersion(version), bytes: try store.read(version: version), file: store.url(for: version))
        } catch {
            logger.error("cannot read the current model version", [("error", String(describing: error))])
            return nil
        }
    }

    public func isGlobalModelMostRecent(_ version: ModelVersion) -> Bool {
        state.withLock { version.rawValue >= $0.version }
    }

    public func receiveWorkerUpdate(_ workerID: WorkerID, _ update: WorkerUpdate) throws -> String {
        let published: Bool
        let reply: String
        // Flushing before the reading slot and the lock lets updates that finish together reach the disk in
        // parallel; an update rejected afterwards has only cost one flush.
        var flushedFile: URL?
        if let payloadFile = update.payloadFile,
            let digest = RoundSpool.flush(payloadFile, bodySHA256: update.bodySHA256)
        {
            flushedFile = payloadFile
            logIfDigestUnsupported(digest)
        }
        readingSlots.wait()
        defer { readingSlots.signal() }
        do {
            (reply, published) = try accept(workerID, update, flushedFile: flushedFile)
        } catch let rejection as UpdateRejection {
            state.withLock { $0.round.recordRejection(.init(workerID: workerID.rawValue, reason: rejection.description)) }
            logger.notice("update rejected", [("worker", workerID.short), ("reason", rejection.code.rawValue)])
            throw DCFErrorResponse(.updateRejected, rejection.description, reason: rejection.code.rawValue)
        } catch let error as FedAvgError {
            logger.error("cannot store an update", [("worker", workerID.short), ("error", error.description)])
            // 503 rather than 500, because workers send an update again only after a 503, and the cause (a full
            // disk, say) may pass. A resend of an update that joined the round before the failure changes nothing.
            throw DCFErrorResponse(.unavailable, "the server cannot store the update now; send it again later")
        }
        if published { notifyGlobalModelChange() }
        return reply
    }

    public func roundStatus() -> [String: StatusValue] {
        state.withLock { state in
            [
                "version": .integer(Int(state.version)),
                "updates": .integer(state.round.entries.count),
                "update_lim": .integer(configuration.updateLimit),
                "min_updates": .integer(configuration.minUpdates),
                "rejected": .integer(state.round.rejectedCount),
                "registered_workers": .integer(state.registeredWorkers.count),
                "waiting_for_min_updates": .bool(state.round.deadlinePassed),
            ]
        }
    }

    /// Waits until the cleanup of aggregated rounds has run, so no update file joins the spool's pool after
    /// the service deletes the pool's files.
    public func serverDidStop() {
        cleanupQueue.sync {}
    }

    func notifyGlobalModelChange() {
        notifier.withLock { $0 }?()
    }

    /// Logs, once per strategy, that update files are stored without their body digest: at info level when the
    /// file system does not support user extended attributes, and as a warning with the error when setting one failed.
    func logIfDigestUnsupported(_ digest: RoundSpool.DigestStorage?) {
        guard let digest, digest != .stored, !digestUnsupportedLogged.exchange(true, ordering: .relaxed) else { return }
        if case .failed(let error) = digest {
            logger.warning(
                "failed to set the user extended attribute that stores the SHA-256 of an update's request body, so "
                    + "update files are stored without it. After a restart, an update that a worker sends again after "
                    + "its recovered round closed is counted a second time",
                [("directory", spool.roundsDirectory.path), ("attribute", RoundSpool.bodyDigestAttribute),
                 ("error", error)])
            return
        }
        logger.info(
            "the file system of the state directory does not support user extended attributes, so update files are "
                + "stored without the SHA-256 of their request body. After a restart, an update that a worker sends "
                + "again after its recovered round closed is counted a second time",
            [("directory", spool.roundsDirectory.path), ("attribute", RoundSpool.bodyDigestAttribute)])
    }

    // MARK: Deadline

    func scheduleDeadline(forRoundFrom version: UInt64) {
        guard let deadline = configuration.roundDeadline else { return }
        let components = deadline.components
        let nanoseconds = Double(components.seconds) * 1e9 + Double(components.attoseconds) / 1e9
        deadlineQueue.asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) { [weak self] in
            self?.deadlineReached(forRoundFrom: version)
        }
    }

    private func deadlineReached(forRoundFrom version: UInt64) {
        let outcome: DeadlineOutcome = state.withLock { state in
            guard state.version == version else { return .roundAlreadyClosed }
            state.round.deadlinePassed = true
            guard state.round.entries.count >= configuration.minUpdates else {
                return .waiting(state.round.entries.count)
            }
            return .aggregate(Result { try aggregate(&state) })
        }
        switch outcome {
        case .roundAlreadyClosed:
            return
        case .waiting(let count):
            // Logged once: the update that reaches min_updates closes the round, so no timer runs again.
            logger.warning(
                "round deadline passed with too few updates; the round closes when min_updates have arrived",
                [("round_from", String(version)), ("updates", String(count)),
                 ("min_updates", String(configuration.minUpdates))])
        case .aggregate(.success):
            notifyGlobalModelChange()
        case .aggregate(.failure(let error)):
            logger.error("aggregation failed; retrying at the next deadline", [("error", String(describing: error))])
            scheduleDeadline(forRoundFrom: version)
        }
    }

    private enum DeadlineOutcome {
        case roundAlreadyClosed
        case waiting(Int)
        case aggregate(Result<Void, any Error>)
    }
}
