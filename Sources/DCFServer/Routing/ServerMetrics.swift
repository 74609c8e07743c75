// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Synchronization

/// Counters for `GET /metrics`, written in the Prometheus text format.
final class ServerMetrics: Sendable {
    private struct Counters {
        var rejectedByCode: [String: Int] = [:]
        var updatesAccepted = 0
        var modelsPublished = 0
    }

    private let counters = Mutex(Counters())

    func recordRejection(_ code: String) {
        counters.withLock { $0.rejectedByCode[code, default: 0] += 1 }
    }

    func recordUpdateAccepted() {
        counters.withLock { $0.updatesAccepted += 1 }
    }

    func recordModelPublished() {
        counters.withLock { $0.modelsPublished += 1 }
    }

    /// Renders the counters plus the gauges passed in.
    func render(gauges: [(name: String, help: String, value: Int)]) -> String {
        let counters = counters.withLock { $0 }
        var lines: [String] = []
        for gauge in gauges {
            lines += ["# HELP \(gauge.name) \(gauge.help)", "# TYPE \(gauge.name) gauge", "\(gauge.name) \(gauge.value)"]
        }
        lines += [
            "# HELP dcf_updates_accepted_total Worker updates the strategy accepted.",
            "# TYPE dcf_updates_accepted_total counter", "dcf_updates_accepted_total \(counters.updatesAccepted)",
            "# HELP dcf_models_published_total Global model versions published since start.",
            "# TYPE dcf_models_published_total counter", "dcf_models_published_total \(counters.modelsPublished)",
            "# HELP dcf_requests_rejected_total Requests answered with an error, by error code.",
            "# TYPE dcf_requests_rejected_total counter",
        ]
        for (code, count) in counters.rejectedByCode.sorted(by: { $0.key < $1.key }) {
            lines.append("dcf_requests_rejected_total{code=\"\(code)\"} \(count)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
