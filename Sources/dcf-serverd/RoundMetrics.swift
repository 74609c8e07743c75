// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import FedAvg
import Foundation
import Synchronization

/// Round metrics for `/metrics`, read from the FedAvg round history of the state directory.
///
/// The history survives restarts, so `dcf_rounds_completed_total` counts every round of the state directory,
/// not only those of this process. Only the lines appended since the last read are read, after each new global
/// model version and never per scrape.
final class RoundMetrics: Sendable {
    private struct Totals {
        var rounds = 0
        var aggregationSeconds = 0.0
        var lastAggregationSeconds = 0.0
        var lastRoundSeconds = 0.0
        /// The history file's inode and how far it has been read.
        var file: UInt64?
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
            var info = stat()
            let exists = stat(history.historyURL.path, &info) == 0
            let file = exists ? UInt64(info.st_ino) : nil
            var next = totals
            if file != totals.file || (exists && UInt64(info.st_size) < totals.offset) {
                next = Totals()
                next.file = file
            }
            guard exists else {
                totals = next
                return
            }
            do {
                let (records, end) = try history.records(from: next.offset)
                for record in records {
                    next.rounds += 1
                    next.aggregationSeconds += record.aggregationSeconds
                    next.lastAggregationSeconds = record.aggregationSeconds
                    next.lastRoundSeconds = record.roundSeconds
                }
                next.offset = end
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
