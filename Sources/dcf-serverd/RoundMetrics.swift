// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import FedAvg
import Foundation
import Synchronization

/// Round metrics for `/metrics`, read from the FedAvg round history of the state directory.
///
/// The history survives restarts, so `dcf_rounds_completed_total` counts every round of the state directory,
/// not only those of this process. After each new global model version, never per scrape, it reads only the
/// lines appended since its last read.
final class RoundMetrics: Sendable {
    private struct Totals {
        var rounds = 0
        var aggregationSeconds = 0.0
        var lastAggregationSeconds = 0.0
        var lastRoundSeconds = 0.0
        /// The history file's inode.
        var file: UInt64?
        /// The offset up to which the history file has been read.
        var offset: UInt64 = 0
    }

    private let history: RoundHistory
    private let logger: Logger
    private let totals = Mutex(Totals())

    init(stateDirectory: URL, logger: Logger) {
        history = RoundHistory(directory: stateDirectory)
        self.logger = logger
        refresh()
    }

    /// Reads the records appended to the history file since the last call, or the whole file when it was
    /// replaced or shortened. On failure the previous figures stay.
    func refresh() {
        totals.withLock { totals in
            do {
                var next = totals
                var reading = try history.records(from: totals.offset)
                let replaced = reading.file.map { $0.inode != totals.file || $0.size < totals.offset } ?? true
                if replaced {
                    // A new, shortened or missing file: count from its start, which the read above already did
                    // when the offset was 0.
                    next = Totals()
                    next.file = reading.file?.inode
                    if totals.offset > 0 { reading = try history.records(from: 0) }
                }
                for record in reading.records {
                    next.rounds += 1
                    next.aggregationSeconds += record.aggregationSeconds
                    next.lastAggregationSeconds = record.aggregationSeconds
                    next.lastRoundSeconds = record.roundSeconds
                }
                next.offset = reading.end
                if reading.skippedLines > 0 {
                    logger.warning(
                        "skipped lines of the round history that are not round records",
                        [("file", history.historyURL.path), ("lines", String(reading.skippedLines))])
                }
                totals = next
            } catch {
                logger.warning("cannot read the round history for metrics", [("error", String(describing: error))])
            }
        }
    }

    func write(to writer: inout PrometheusTextWriter) {
        let totals = totals.withLock { $0 }
        writer.counter(
            "dcf_rounds_completed_total", help: "Aggregation rounds completed, from the state directory's history.",
            value: Double(totals.rounds))
        writer.counter(
            "dcf_aggregation_seconds_total", help: "Time spent aggregating and storing new versions, in seconds.",
            value: totals.aggregationSeconds)
        writer.gauge(
            "dcf_last_aggregation_seconds", help: "Aggregation time of the last round, in seconds.",
            value: totals.lastAggregationSeconds)
        writer.gauge(
            "dcf_last_round_seconds", help: "Time from the start of the last round to its aggregation, in seconds.",
            value: totals.lastRoundSeconds)
    }
}
