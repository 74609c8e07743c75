// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFServer
import Foundation

/// The largest example count an update may report; sums of a million such counts still fit in `Int`.
let maximumExampleCount = 1_000_000_000_000

extension FedAvgStrategy {
    /// Validates, stores and folds one update; returns the reply and whether a new version was published.
    ///
    /// - Parameter flushedFile: `update.payloadFile` when `RoundSpool.flush` has written it to disk; it is then
    ///   renamed into the round, and otherwise the payload is written again with write-fsync-rename.
    func accept(
        _ workerID: WorkerID, _ update: WorkerUpdate, flushedFile: URL?
    ) throws -> (reply: String, published: Bool) {
        if let resent = try checkReplacement(workerID, update) { return (resent, false) }
        if let declared = UpdateHeaderLimit.declaredByteCount(of: update.payload),
            declared > UInt64(maximumUpdateHeaderBytes)
        {
            throw UpdateRejection.headerTooLarge(declared, limit: maximumUpdateHeaderBytes)
        }
        let model = try SafeTensorsModel(parsing: update.payload)
        let metadata = try Self.updateMetadata(model.file.metadata, signedBaseVersion: update.baseVersion)
        let (snapshotVersion, layouts) = state.withLock { ($0.version, $0.layouts) }
        let validator = UpdateValidator(globalLayouts: layouts, maxStaleness: configuration.maxStaleness)
        // With the payload in a file, the values are scanned from the file in blocks, so the update is never
        // resident in memory as a whole; the layout check reads only the header.
        let payloadFile = update.payloadFile
        try validator.validate(
            model, examples: metadata.numExamples, baseVersion: metadata.baseVersion.rawValue,
            currentVersion: snapshotVersion, checkingValues: payloadFile == nil)
        let tensorOffsets = StoredUpdateFold.tensorOffsets(of: update.payload, file: model.file)
        if let scanned = update.nonFiniteTensors {
            // The server scanned the body as it arrived, with the header that has just passed validation.
            if let tensor = layouts.first(where: { scanned.contains($0.name) }) {
                throw UpdateRejection.nonFinite(tensor: tensor.name)
            }
        } else if let payloadFile,
            let tensor = try StoredUpdateFold.firstNonFiniteTensor(in: payloadFile, offsets: tensorOffsets, layouts: layouts)
        {
            throw UpdateRejection.nonFinite(tensor: tensor)
        }
        if let payloadFile,
            let tensor = try StoredUpdateFold.firstFloat64Tensor(
                in: payloadFile, offsets: tensorOffsets, layouts: layouts,
                above: FedAvgAccumulator.maximumFloat64Magnitude)
        {
            throw UpdateRejection.outOfRange(tensor: tensor)
        }

        let (reply, published, directoryToSync, digest) = try state.withLock { state in
            guard !state.unregisteredWorkers.contains(workerID) else {
                throw DCFErrorResponse(
                    .unregisteredWorker, "worker \(workerID.short) was unregistered while its update was checked")
            }
            if state.version != snapshotVersion {
                // A version was published while this update was validated; only its staleness can change.
                try validator.validate(
                    model, examples: metadata.numExamples, baseVersion: metadata.baseVersion.rawValue,
                    currentVersion: state.version, checkingValues: false)
            }
            let (url, directoryToSync, digest) = try spool.store(
                update.payload, flushedFile: flushedFile, bodySHA256: update.bodySHA256, worker: workerID,
                roundFrom: state.version)
            let stored = AcceptedUpdate(
                url: url, metadata: metadata, payloadBytes: update.payload.count, tensorOffsets: tensorOffsets,
                bodySHA256: update.bodySHA256)
            let replaced = state.round.entries.updateValue(stored, forKey: workerID) != nil
            if replaced { state.round.replacements[workerID, default: 0] += 1 }
            state.round.bytesIn += update.payload.count
            if replaced && !state.round.pending.contains(workerID) {
                // The earlier update is in the sums; refolding from the stored files gives the exact sums
                // without it.
                try refoldRound(&state)
            } else if !replaced {
                state.round.pending.append(workerID)
                if state.round.pending.count >= configuration.foldBatchSize { try foldPending(&state) }
            }
            let count = state.round.entries.count
            let reply = "accepted into the round from version \(state.version): \(count) of "
                + "\(configuration.updateLimit) updates" + (replaced ? " (replaced this worker's earlier update)" : "")
            guard roundCloses(state.round) else { return (reply, false, directoryToSync, digest) }
            // The update is stored and counted, so a failed aggregation must not reject it; it is retried.
            let published = aggregateOrScheduleRetry(&state)
            let outcome = published ? "; this update closed the round, now version \(state.version)" : ""
            return (reply + outcome, published, directoryToSync, digest)
        }
        logIfDigestUnsupported(digest)
        // An update that closed the round is part of the new version, which is already on disk. Any other update
        // is acknowledged only once the rename that put it into the round is flushed. When that flush fails, the
        // update stays counted and the reply asks the worker to send it again, so the resend flushes again.
        if let directoryToSync, !published { try spool.syncDirectory(directoryToSync) }
        return (reply, published)
    }

    /// Returns the reply for bytes that the round or the worker's last aggregated update already contains, which
    /// changes nothing, or nil for an update to accept. Such bytes come from a resend after a lost reply or a 503,
    /// or from a retrained update with the same bytes. A replacement with other bytes folds the whole round again
    /// from disk under the lock, so each worker may replace its update `maximumReplacementsPerRound` times per round.
    private func checkReplacement(_ workerID: WorkerID, _ update: WorkerUpdate) throws -> String? {
        let (entry, replacements, version, aggregated) = state.withLock { state in
            (state.round.entries[workerID], state.round.replacements[workerID, default: 0], state.version,
             state.aggregatedBodies[workerID])
        }
        guard let entry else {
            // A copy too stale for the open round is rejected as stale, which keeps it out just as well.
            let base = update.baseVersion.rawValue
            guard let aggregated, aggregated.bodySHA256 == update.bodySHA256, base <= version,
                version - base <= configuration.maxStaleness
            else { return nil }
            return "already aggregated into version \(aggregated.version): that version contains these exact bytes "
                + "from this worker, so nothing changed"
        }
        let resent: Bool
        if entry.bodySHA256.isEmpty {
            // Recovered from a file stored without its body digest, by a server version that did not store it or on
            // a file system without extended attributes. The stored file is the payload as inflated, so the same
            // payload sent again, compressed or not, has the same bytes. Its body digest is kept in memory and, where
            // the file system allows, with the file, so further resends of that body are recognised without reading
            // the file, also after the round closed or the server restarted.
            resent = entry.payloadBytes == update.payload.count && Self.file(entry.url, contains: update.payload)
            if resent {
                state.withLock { state in
                    // A replacement stored meanwhile has a digest of its own.
                    guard let current = state.round.entries[workerID], current.url == entry.url,
                        current.bodySHA256.isEmpty
                    else { return }
                    state.round.entries[workerID]?.bodySHA256 = update.bodySHA256
                    do {
                        try spool.storeDigest(update.bodySHA256, of: entry.url)
                    } catch {
                        logger.warning(
                            "cannot store the body digest with a recovered update; a resend after a restart is "
                                + "recognised by comparing its bytes",
                            [("worker", workerID.short), ("file", entry.url.path),
                             ("error", String(describing: error))])
                    }
                }
            }
        } else {
            resent = entry.bodySHA256 == update.bodySHA256
        }
        if resent {
            // The first copy's reply may have been an error because flushing the round directory failed, so the
            // resend is acknowledged only once that directory is flushed.
            try spool.syncDirectory(entry.url.deletingLastPathComponent())
            return "already accepted into the round from version \(version): the round already contains these exact "
                + "bytes from this worker, so nothing changed"
        }
        guard replacements < Self.maximumReplacementsPerRound else {
            throw UpdateRejection.tooManyReplacements(replacements)
        }
        return nil
    }

    /// Returns whether the file at `url` contains exactly `payload`, reading 1 MiB at a time. Returns false when
    /// the file cannot be read.
    static func file(_ url: URL, contains payload: Data) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        var offset = payload.startIndex
        do {
            // Foundation returns nil or empty data at the end of the file.
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                let end = offset + chunk.count
                guard end <= payload.endIndex, payload[offset..<end] == chunk else { return false }
                offset = end
            }
        } catch {
            return false
        }
        return offset == payload.endIndex
    }

    /// Reads the dcf metadata of an update and checks it against the signed `DCF-Base-Version`.
    static func updateMetadata(
        _ metadata: [String: String], signedBaseVersion: ModelVersion
    ) throws(UpdateRejection) -> UpdateMetadata {
        guard let examples = metadata[UpdateMetadata.numExamplesKey] else {
            throw UpdateRejection(
                code: .invalidExampleCount,
                message: "the update's metadata has no \"\(UpdateMetadata.numExamplesKey)\" (training example count)")
        }
        if let count = Int(examples), count < 1 || count > maximumExampleCount { throw .exampleCount(count) }
        let parsed: UpdateMetadata
        do {
            parsed = try UpdateMetadata(safetensorsMetadata: metadata)
        } catch {
            throw UpdateRejection(code: .invalidMetadata, message: error.message)
        }
        guard parsed.baseVersion == signedBaseVersion else {
            throw UpdateRejection(
                code: .invalidMetadata,
                message: "the update's metadata says base version \(parsed.baseVersion) but the signed "
                    + "DCF-Base-Version header says \(signedBaseVersion)")
        }
        return parsed
    }

    /// Removes `workerID`'s update from the open round: its stored file goes, so a restart does not fold it
    /// again, and the sums are folded again without it if it was already in them.
    func dropUpdate(of workerID: WorkerID, from state: inout FedAvgState) {
        guard let dropped = state.round.entries.removeValue(forKey: workerID) else { return }
        state.round.bytesIn -= dropped.payloadBytes
        let wasFolded = !state.round.pending.contains(workerID)
        state.round.pending.removeAll { $0 == workerID }
        do {
            try FileManager.default.removeItem(at: dropped.url)
            try spool.syncDirectory(dropped.url.deletingLastPathComponent())
            if wasFolded { try refoldRound(&state) }
            logger.info(
                "dropped the update of a worker that is no longer registered", [
                    ("worker", workerID.short), ("updates", String(state.round.entries.count)),
                ])
        } catch {
            logger.error(
                "cannot drop the update of a worker that is no longer registered from the open round",
                [("worker", workerID.short), ("error", String(describing: error))])
        }
    }

    /// Clears the sums and folds every stored update of the open round again.
    func refoldRound(_ state: inout FedAvgState) throws {
        state.accumulator.reset()
        state.round.pending = state.round.entries.keys.sorted()
        try foldPending(&state)
    }

    /// Folds every pending update, `foldBatchSize` at a time, from its stored file. On failure the sums are
    /// cleared and every update of the round is pending again.
    func foldPending(_ state: inout FedAvgState) throws {
        while !state.round.pending.isEmpty {
            let workers = state.round.pending.prefix(configuration.foldBatchSize)
            let batch = workers.compactMap { state.round.entries[$0] }.map { ($0.url, $0.tensorOffsets, $0.weight) }
            do {
                try StoredUpdateFold(accumulator: state.accumulator).fold(batch)
            } catch {
                // The failed pass may have folded the batch's first tensors already. Clearing the sums and marking
                // every update pending makes the next pass fold each stored update once.
                state.accumulator.reset()
                state.round.pending = state.round.entries.keys.sorted()
                throw error
            }
            state.round.pending.removeFirst(workers.count)
        }
    }
}
