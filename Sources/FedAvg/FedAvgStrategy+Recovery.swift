// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFSupport
public import Foundation

extension FedAvgStrategy {
    /// Returns the newest stored version and its bytes, storing the initial model as version 1 first
    /// when the state directory has none.
    static func openLatestModel(
        store: ModelVersionStore, configuration: FedAvgConfiguration, logger: Logger
    ) throws -> (UInt64, Data) {
        if let latest = try store.latestVersion() {
            var fields = [("version", String(latest))]
            // A model file given for a fresh start is easy to mistake for the one in use after a restart.
            if let initial = configuration.initialModel {
                fields.append(("unused_initial_model", initial.path))
                fields.append(("note", "the initial model is read only when the state directory holds no version"))
            }
            logger.info("resuming at stored model version", fields)
            return (latest, try store.read(version: latest))
        }
        let (initial, bytes) = try readInitialModel(configuration, store: store)
        try store.write(bytes, version: 1)
        logger.info("stored the initial model as version 1", [("source", initial.path), ("bytes", String(bytes.count))])
        return (1, bytes)
    }

    /// Throws when the state directory shows that a version above the newest in `models/` was stored: the open
    /// round started from it, or the history has its record. Resuming at an older version would delete that
    /// round's acknowledged updates and send workers a version older than the one they hold.
    static func checkNewestModelPresent(
        store: ModelVersionStore, spool: RoundSpool, history: RoundHistory
    ) throws {
        let latest = try store.latestVersion() ?? 0
        let rounds = (try? FileManager.default.contentsOfDirectory(atPath: spool.roundsDirectory.path)) ?? []
        let roundVersions = rounds.compactMap { name -> UInt64? in
            guard name.hasPrefix("from-v") else { return nil }
            return UInt64(name.dropFirst("from-v".count))
        }
        let evidence: (version: UInt64, path: String)
        if let newest = roundVersions.max(), newest > latest {
            evidence = (newest, spool.directory(forRoundFrom: newest).path)
        } else if let newest = (try? history.load())?.map(\.version).max(), newest > 0, UInt64(newest) > latest {
            evidence = (UInt64(newest), history.historyURL.path)
        } else {
            return
        }
        let found = "model version \(evidence.version) is missing: \(evidence.path) shows it was stored, but "
            + "\(store.directory.path) holds " + (latest == 0 ? "no version" : "versions up to \(latest)")
            + ". Restore it from a backup as \(store.url(for: evidence.version).path). "
        // With no version left there is nothing to resume at, and the likely intent is a new federation.
        guard latest > 0 else {
            throw FedAvgError(
                description: found + "To start a new federation from fedavg.initial_model instead, move rounds/, "
                    + "history.jsonl and history-pending.json out of the state directory, or use an empty one")
        }
        throw FedAvgError(
            description: found + "Without a backup, to resume at version \(latest) and lose the rounds after it, "
                + "move every rounds/from-vN with N above \(latest) out of the state directory and delete the "
                + "records of versions above \(latest) from history.jsonl")
    }

    /// Reads and checks the configured initial model when the state directory contains no version yet, without
    /// creating anything, so a bad file stops the server before it touches the state directory.
    public static func checkInitialModel(_ configuration: FedAvgConfiguration) throws {
        guard !containsModelVersion(stateDirectory: configuration.stateDirectory) else { return }
        _ = try readInitialModel(
            configuration, store: ModelVersionStore(stateDirectory: configuration.stateDirectory))
    }

    /// Returns whether `stateDirectory` contains a stored model version, so that the start resumes at it and does not
    /// read the initial model.
    public static func containsModelVersion(stateDirectory: URL) -> Bool {
        let store = ModelVersionStore(stateDirectory: stateDirectory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: store.directory.path)) ?? []
        return names.contains { ModelVersionStore.version(fromFileName: $0) != nil }
    }

    /// Reads the configured initial model and checks that it is a usable global model.
    private static func readInitialModel(
        _ configuration: FedAvgConfiguration, store: ModelVersionStore
    ) throws -> (url: URL, bytes: Data) {
        guard let initial = configuration.initialModel else { throw FedAvgError.noInitialModel(store.directory) }
        let setting = FedAvgConfiguration.initialModelSetting
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: initial.path, isDirectory: &isDirectory) else {
            throw FedAvgError.unreadableModel(initial.path, "the file does not exist", setting: setting)
        }
        guard !isDirectory.boolValue else {
            throw FedAvgError.unreadableModel(
                initial.path, "it is a directory; give a safetensors file", setting: setting)
        }
        let bytes: Data
        do {
            bytes = try Data(contentsOf: initial)
        } catch {
            throw FedAvgError.unreadableModel(
                initial.path, "cannot read it: \(error.localizedDescription)", setting: setting)
        }
        _ = try parseGlobalModel(bytes, path: initial.path, setting: setting)
        return (initial, bytes)
    }

    /// Parses stored version `version` and checks that its bytes have the SHA-256 stored with the file. When the
    /// version before it is still stored, also checks that both have the same tensors, as every version has the
    /// layout of the first.
    static func parseStoredModel(_ bytes: Data, version: UInt64, store: ModelVersionStore) throws -> SafeTensorsModel {
        let path = store.url(for: version).path
        let previousStored = version > 1 && FileManager.default.fileExists(atPath: store.url(for: version - 1).path)
        if let change = store.contentChange(of: bytes, version: version) {
            throw FedAvgError.damagedModel(change, version: version, previousStored: previousStored)
        }
        let model: SafeTensorsModel
        do {
            model = try parseGlobalModel(bytes, path: path)
        } catch let error as FedAvgError {
            throw FedAvgError.damagedModel(error.description, version: version, previousStored: previousStored)
        }
        let byName = { (layouts: [TensorLayout]) in layouts.sorted { $0.name < $1.name } }
        guard version > 1, let previousBytes = try? store.read(version: version - 1),
            let previous = try? SafeTensors(bytes: previousBytes),
            byName(SafeTensorsModel(previous).layouts) != byName(model.layouts)
        else { return model }
        let detail = "cannot use model \(path): its tensors (\(byName(model.layouts).map(\.description).joined(separator: ", "))) "
            + "differ from those of version \(version - 1) "
            + "(\(byName(SafeTensorsModel(previous).layouts).map(\.description).joined(separator: ", ")))"
        throw FedAvgError.damagedModel(detail, version: version, previousStored: previousStored)
    }

    /// Parses a global model and checks that its floating-point tensors are finite.
    ///
    /// - Parameter setting: the setting that names the file, for the error, or nil for a stored version.
    static func parseGlobalModel(_ bytes: Data, path: String, setting: String? = nil) throws -> SafeTensorsModel {
        let model: SafeTensorsModel
        do {
            model = SafeTensorsModel(try SafeTensors(bytes: bytes))
        } catch {
            throw FedAvgError.unreadableModel(path, String(describing: error), setting: setting)
        }
        guard !model.layouts.isEmpty else {
            throw FedAvgError.unreadableModel(path, "it contains no tensors", setting: setting)
        }
        for layout in model.layouts where layout.kind.isFloatingPoint {
            let finite = model.withTensorBytes(named: layout.name) { ElementKernels.isFinite($0, kind: layout.kind) }
            guard finite else {
                throw FedAvgError.unreadableModel(
                    path, "tensor \(layout.name) contains NaN or infinity", setting: setting)
            }
        }
        return model
    }

    /// Folds the stored updates of the open round again after a restart. A file whose base version is now too
    /// old (after `max_staleness` was lowered) is deleted with a warning, and so is a damaged file of a worker
    /// that the registry does not store as registered.
    ///
    /// - Throws: `FedAvgError` naming the file when a stored update of a registered worker cannot be read or
    ///   fails any other check. It passed them all when it was accepted, so the file or the newest model is
    ///   damaged, and the worker, whose update the server acknowledged, does not send it again. A missing or
    ///   unreadable registry counts every worker as registered.
    func recoverOpenRound() throws {
        let version = state.withLock { $0.version }
        spool.removeRounds(except: version)
        let stored = try spool.storedUpdates(roundFrom: version)
        guard !stored.isEmpty else { return }
        let layouts = state.withLock { $0.layouts }
        let validator = UpdateValidator(globalLayouts: layouts, maxStaleness: configuration.maxStaleness)
        // The workers the registry stores as registered, read only when a stored update is damaged.
        var registered: Set<WorkerID>?
        for (worker, url) in stored {
            do {
                let payload = try Data(contentsOf: url, options: .alwaysMapped)
                let model = try SafeTensorsModel(parsing: payload)
                let metadata = try UpdateMetadata(safetensorsMetadata: model.file.metadata)
                try validator.validate(
                    model, examples: metadata.numExamples, baseVersion: metadata.baseVersion.rawValue,
                    currentVersion: version)
                state.withLock { state in
                    state.round.entries[worker] = AcceptedUpdate(
                        url: url, metadata: metadata, payloadBytes: payload.count,
                        tensorOffsets: StoredUpdateFold.tensorOffsets(of: payload, file: model.file),
                        bodySHA256: spool.storedDigest(of: url))
                    state.round.pending.append(worker)
                }
            } catch let rejection as UpdateRejection where rejection.code == .staleBaseVersion {
                logger.warning(
                    "dropping a stored update that no longer validates",
                    [("worker", worker.short), ("file", url.path), ("error", String(describing: rejection))])
                try? FileManager.default.removeItem(at: url)
            } catch {
                // The start drops the updates of workers that are not registered anyway, so a damaged one of
                // theirs need not stop it. The key list is applied to the registry only after this, so a worker
                // that left it while the server was down is counted out here by `keyListKeys`.
                if registered == nil {
                    registered = try? WorkerRegistry.storedRegisteredWorkers(
                        stateDirectory: configuration.stateDirectory, keyListKeys: configuration.keyListKeys)
                }
                guard let registered, !registered.contains(worker) else {
                    throw FedAvgError.damagedUpdate(
                        url.path, worker: worker, model: store.url(for: version).path, error)
                }
                logger.warning(
                    "dropping a damaged stored update of a worker that is not registered",
                    [("worker", worker.short), ("file", url.path), ("error", String(describing: error))])
                try? FileManager.default.removeItem(at: url)
            }
        }
        try state.withLock { try foldPending(&$0) }
        let count = state.withLock { $0.round.entries.count }
        logger.info("recovered the open round", [("round_from", String(version)), ("updates", String(count))])
    }
}
