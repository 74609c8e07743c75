// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import Foundation

extension FedAvgStrategy {
    /// Closes the open round: stores the weighted mean as the next version, records the round and
    /// starts the next one. The caller publishes the new version after releasing the lock.
    func aggregate(_ state: inout FedAvgState) throws {
        let started = ContinuousClock.now
        try foldPending(&state)
        // Every folded value was checked to be finite and small enough that the sums cannot overflow. A model
        // with NaN or infinity is still never published, whatever the cause.
        if let tensor = state.accumulator.firstNonFiniteSum() {
            throw FedAvgError.nonFiniteAggregate(tensor: tensor)
        }
        let nextVersion = state.version + 1
        // The new version is written tensor by tensor, so a large model is never in memory twice.
        let plan = SafeTensorsWriter.streamingPlan(
            tensors: state.layouts.map { ($0.name, $0.kind.dtype, $0.shape) },
            metadata: ["dcf.version": String(nextVersion)])
        let indexByName = Dictionary(uniqueKeysWithValues: state.layouts.enumerated().map { ($1.name, $0) })
        let accumulator = state.accumulator
        // Parts of at most 1 Mi elements keep the encoded mean small whatever the tensor's size.
        let partElements = 1 << 20
        let parts: [() -> [UInt8]] = plan.order.flatMap { name -> [() -> [UInt8]] in
            let index = indexByName[name]!
            let count = accumulator.layouts[index].elementCount
            return stride(from: 0, to: max(count, 1), by: partElements).map { start in
                { accumulator.mean(tensorIndex: index, elements: start..<min(start + partElements, count)) }
            }
        }
        let transfer = transferCounter.withLock { $0 }?()
        var record = makeRecord(
            state, version: nextVersion, aggregationSeconds: Self.seconds(ContinuousClock.now - started),
            transfer: transfer)
        let earlierRecordsWait = !appendStagedRecords(latestVersion: state.version)
        // Staged first, so a crash after the version is stored leaves its record for the next start.
        let dropped: [Int]
        do {
            dropped = try history.stage(record)
        } catch {
            throw FedAvgError.storage("stage the round record", history.stagedURL.path, String(describing: error))
        }
        if !dropped.isEmpty {
            logger.error(
                "dropped staged round records after \(RoundHistory.maximumStagedRecords) failed history appends in a "
                    + "row, so the history misses these rounds. Check that the history file is writable and the disk "
                    + "has space",
                [("versions", dropped.map(String.init).joined(separator: ",")), ("file", history.historyURL.path)])
        }
        try store.write(prefix: plan.prefix, parts: parts, version: nextVersion)
        record.aggregationSeconds = Self.seconds(ContinuousClock.now - started)
        record.roundSeconds = Date().timeIntervalSince(state.round.startedAt)
        record.finishedAt = Date()
        state.version = nextVersion
        for (worker, entry) in state.round.entries where !entry.bodySHA256.isEmpty {
            state.aggregatedBodies[worker] = (nextVersion, entry.bodySHA256)
        }
        state.aggregatedBodies = AggregatedBodies.pruned(
            state.aggregatedBodies, current: nextVersion, maxStaleness: configuration.maxStaleness)
        let aggregatedBodies = state.aggregatedBodies
        state.round = OpenRound()
        state.round.transferAtStart = transfer
        state.accumulator.reset()
        // Deleting a round's files frees their blocks and page cache, which with many large updates takes long
        // enough to delay the new version. The version is durable already, and start-up deletes whatever a
        // crash leaves behind. Later rounds may have opened by the time this runs, so only older ones go.
        cleanupQueue.async { [self] in
            do {
                try aggregatedBodiesFile.write(aggregatedBodies)
            } catch {
                logger.error(
                    "cannot store the digests of aggregated updates; after a restart, a worker that sends an update "
                        + "of this round again has it counted a second time",
                    [("file", aggregatedBodiesFile.file.path), ("error", String(describing: error))])
            }
            spool.removeRounds(before: nextVersion)
            removeOldVersions(upTo: nextVersion)
        }
        do {
            if earlierRecordsWait {
                // Appending this record before the earlier ones would put rounds out of order, and removing the
                // staged file would lose them. The staged copy gets the final times, then all go in version order.
                try history.stage(record)
                appendStagedRecords(latestVersion: nextVersion)
            } else {
                do {
                    try history.append(record)
                } catch let error as HistoryChartError {
                    Self.logChartFailure(error, logger: logger)
                }
                history.clearStaged()
            }
        } catch {
            logger.error("cannot write the round history", [("error", String(describing: error))])
        }
        logger.info(
            "aggregated round",
            // The sites evaluate the model they train from, so the accuracy is the base version's, not the new one's.
            [("version", String(nextVersion)), ("base_version", String(record.baseVersion)),
             ("updates", String(record.updatesUsed)), ("rejected", String(record.rejected.count)),
             ("base_eval_accuracy", record.evaluationAccuracy.map { String(format: "%.4f", $0) } ?? "-"),
             ("seconds", String(format: "%.3f", record.roundSeconds))])
        scheduleDeadline(forRoundFrom: nextVersion)
    }

    /// Appends the records that earlier rounds staged but failed to append to the history, for example on a full
    /// disk, before this round's record joins them in the staged file. Records that still cannot be appended stay
    /// staged for the next round.
    ///
    /// - Returns: false when staged records could not be appended and stay staged.
    @discardableResult
    private func appendStagedRecords(latestVersion: UInt64) -> Bool {
        do {
            let appended = try Self.recoverStagedRecords(history, latestVersion: latestVersion, logger: logger)
            if !appended.isEmpty {
                logger.notice(
                    "added the records of earlier rounds whose append to the history had failed",
                    [("versions", appended.map { String($0.version) }.joined(separator: ","))])
            }
        } catch {
            logger.error(
                "failed to append the staged records of earlier rounds to the history. They stay staged, and the "
                    + "next round tries again", [("file", history.historyURL.path), ("error", String(describing: error))])
            return false
        }
        return true
    }

    /// Appends the staged records of stored versions up to `latestVersion` that the history lacks, logging a
    /// warning for each one dropped unused; see `RoundHistory.recoverStaged(latestVersion:discarded:chartFailed:)`.
    static func recoverStagedRecords(
        _ history: RoundHistory, latestVersion: UInt64, logger: Logger
    ) throws -> [RoundRecord] {
        try history.recoverStaged(
            latestVersion: Int(latestVersion),
            discarded: { reason in
                logger.warning(
                    "dropped a staged round record without adding it to the history",
                    [("file", history.stagedURL.path), ("reason", reason)])
            },
            chartFailed: { logChartFailure($0, logger: logger) })
    }

    /// Logs that the chart could not be drawn although its round record is in the history.
    static func logChartFailure(_ error: HistoryChartError, logger: Logger) {
        logger.error(
            "cannot write the history chart; the round history is intact, and the next round draws the chart again",
            [("file", error.path), ("error", String(describing: error.underlying))])
    }

    /// Aggregates a full round; on failure (a full disk, say) logs it, keeps the round, and tries again
    /// after a pause. Returns whether a new version was published.
    func aggregateOrScheduleRetry(_ state: inout FedAvgState) -> Bool {
        do {
            try aggregate(&state)
            return true
        } catch {
            logger.error(
                "aggregation failed; the round's updates are kept and aggregation is retried in 5 s",
                [("round_from", String(state.version)), ("error", String(describing: error))])
            let version = state.version
            retryQueue.asyncAfter(deadline: .now() + .seconds(5)) { [weak self] in
                self?.retryAggregation(forRoundFrom: version)
            }
            return false
        }
    }

    /// Tells whether `round` has the updates to close: `updateLimit` of them, or `minUpdates` past the deadline.
    func roundCloses(_ round: OpenRound) -> Bool {
        let count = round.entries.count
        return count >= configuration.updateLimit || (round.deadlinePassed && count >= configuration.minUpdates)
    }

    private func retryAggregation(forRoundFrom version: UInt64) {
        let published = state.withLock { state in
            // The round may have closed at the deadline with min_updates, fewer than update_lim.
            guard state.version == version, roundCloses(state.round) else { return false }
            return aggregateOrScheduleRetry(&state)
        }
        if published { notifyGlobalModelChange() }
    }

    private func makeRecord(
        _ state: FedAvgState, version: UInt64, aggregationSeconds: Double, transfer: (bytesIn: Int, bytesOut: Int)?
    ) -> RoundRecord {
        var bytesIn = state.round.bytesIn
        var bytesOut = 0
        if let transfer, let start = state.round.transferAtStart {
            bytesIn = transfer.bytesIn - start.bytesIn
            bytesOut = transfer.bytesOut - start.bytesOut
        }
        let entries = Array(state.round.entries.values)
        var evaluation = WeightedMean()
        var accuracy = WeightedMean()
        var training = WeightedMean()
        for entry in entries {
            let metrics = entry.metadata.metrics
            let evaluationWeight = metrics[UpdateMetricKeys.evaluationExamples] ?? entry.weight
            evaluation.add(metrics[UpdateMetricKeys.evaluationLoss], weight: evaluationWeight)
            accuracy.add(metrics[UpdateMetricKeys.evaluationAccuracy], weight: evaluationWeight)
            training.add(metrics[UpdateMetricKeys.trainingLoss], weight: entry.weight)
        }
        var record = RoundRecord(
            version: Int(version), baseVersion: Int(state.version), updatesUsed: entries.count,
            rejected: state.round.rejections, evaluationLoss: evaluation.value, evaluationAccuracy: accuracy.value,
            trainingLoss: training.value, trainingExamples: entries.reduce(0) { $0 + $1.metadata.numExamples },
            bytesIn: bytesIn, bytesOut: bytesOut, aggregationSeconds: aggregationSeconds,
            roundSeconds: Date().timeIntervalSince(state.round.startedAt), finishedAt: Date())
        record.rejectedTotal = state.round.rejectedCount
        return record
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// A mean weighted by example counts, skipping workers that did not report the figure.
struct WeightedMean {
    private var sum = 0.0
    private var weight = 0.0

    mutating func add(_ value: Double?, weight entryWeight: Double) {
        guard let value, value.isFinite, entryWeight > 0, entryWeight.isFinite else { return }
        // Reported figures come from workers; one that overflows the sum is skipped, not recorded as infinity.
        let newSum = sum + value * entryWeight
        guard newSum.isFinite, (weight + entryWeight).isFinite else { return }
        sum = newSum
        weight += entryWeight
    }

    var value: Double? { weight > 0 ? sum / weight : nil }
}
