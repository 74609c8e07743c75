// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import FedAvg
import Foundation
import Synchronization

/// Round metrics for `/metrics`, read from the FedAvg round history of the state directory.
///
/// The history survives restarts, so `dcf_rounds_completed_total` counts every round of the state directory,
/// not only those of this process. It is reread after each new global model version, never per scrape.
final class RoundMetrics: Sendable {
    private struct Totals {
        var rounds = 0
        var aggregationSeconds = 0.0
        var lastAggregationSeconds = 0.0
        var lastRoundSeconds = 0.0
    }

    private let history: RoundHistory
    private let logger: Logger
    private let totals = Mutex(Totals())

    init(stateDirectory: URL, logger: Logger) {
        history = RoundHistory(directory: stateDirectory)
        self.logger = logger
        refresh()
    }

    /// Rereads the history file; on failure the previous figures stay.
    func refresh() {
        let records: [RoundRecord]
        do {
            records = try history.load()
        } catch {
            logger.warning("cannot read the round history for metrics", [("error", String(describing: error))])
            return
        }
        var next = Totals()
        next.rounds = records.count
        next.aggregationSeconds = records.reduce(0) { $0 + $1.aggregationSeconds }
        next.lastAggregationSeconds = records.last?.aggregationSeconds ?? 0
        next.lastRoundSeconds = records.last?.roundSeconds ?? 0
        totals.withLock { $0 = next }
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
