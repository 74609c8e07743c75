// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import Synchronization

/// Counters of the backend for `GET /metrics`, written in the Prometheus text format.
///
/// Other components (the HTTP transport, the strategy's host) add their own families through
/// `DCFServer.addMetricsSource(_:)`.
final class ServerMetrics: Sendable {
    private struct RequestKey: Hashable {
        var route: String
        var status: Int
    }

    private struct Counters {
        var requests: [RequestKey: Int] = [:]
        var rejectedByCode: [String: Int] = [:]
        var updatesAccepted = 0
        var updatesRejectedByReason: [String: Int] = [:]
        var modelsPublished = 0
    }

    private let counters = Mutex(Counters())
    private let sources = Mutex([@Sendable (inout PrometheusTextWriter) -> Void]())

    func recordRequest(route: String, status: Int) {
        counters.withLock { $0.requests[RequestKey(route: route, status: status), default: 0] += 1 }
    }

    func recordRejection(_ code: String) {
        counters.withLock { $0.rejectedByCode[code, default: 0] += 1 }
    }

    func recordUpdateAccepted() {
        counters.withLock { $0.updatesAccepted += 1 }
    }

    func recordUpdateRejected(reason: String) {
        counters.withLock { $0.updatesRejectedByReason[reason, default: 0] += 1 }
    }

    func recordModelPublished() {
        counters.withLock { $0.modelsPublished += 1 }
    }

    func addSource(_ source: @escaping @Sendable (inout PrometheusTextWriter) -> Void) {
        sources.withLock { $0.append(source) }
    }

    /// Renders the gauges passed in, the counters passed in and its own, then every added source.
    func render(
        gauges: [(name: String, help: String, value: Int)], counters extra: [(name: String, help: String, value: Int)] = []
    ) -> String {
        let counters = counters.withLock { $0 }
        var writer = PrometheusTextWriter()
        for gauge in gauges {
            writer.gauge(gauge.name, help: gauge.help, value: Double(gauge.value))
        }
        let requests = counters.requests.sorted { ($0.key.route, $0.key.status) < ($1.key.route, $1.key.status) }
        writer.counter(
            "dcf_requests_total", help: "Requests the backend answered, by route and HTTP status.",
            samples: requests.map { ([("route", $0.key.route), ("status", String($0.key.status))], Double($0.value)) })
        writer.counter(
            "dcf_requests_rejected_total", help: "Requests answered with an error, by error code.",
            samples: Self.samples(counters.rejectedByCode, label: "code"))
        writer.counter(
            "dcf_updates_accepted_total", help: "Worker updates the strategy accepted.",
            value: Double(counters.updatesAccepted))
        writer.counter(
            "dcf_updates_rejected_total", help: "Worker updates rejected, by error code.",
            samples: Self.samples(counters.updatesRejectedByReason, label: "reason"))
        writer.counter(
            "dcf_models_published_total", help: "Global model versions published since start.",
            value: Double(counters.modelsPublished))
        for counter in extra {
            writer.counter(counter.name, help: counter.help, value: Double(counter.value))
        }
        for source in sources.withLock({ $0 }) {
            source(&writer)
        }
        return writer.text
    }

    private static func samples(_ counts: [String: Int], label: String) -> [(labels: PrometheusTextWriter.Labels, value: Double)] {
        counts.sorted { $0.key < $1.key }.map { ([(label, $0.key)], Double($0.value)) }
    }
}

extension DCFRoute {
    /// The route's name in the `route` label of `dcf_requests_total`; ids and versions are left out to keep
    /// the number of series bounded.
    var metricLabel: String {
        switch self {
        case .protocolInfo: "protocol"
        case .nonce: "nonce"
        case .register: "register"
        case .modelWait: "model_wait"
        case .currentModel: "model_current"
        case .model: "model_version"
        case .update: "update"
        case .adminListWorkers: "admin_list_workers"
        case .adminAddWorker: "admin_add_worker"
        case .adminRemoveWorker: "admin_remove_worker"
        case .adminSetRegistration: "admin_set_registration"
        case .adminStatus: "admin_status"
        case .healthz: "healthz"
        case .metrics: "metrics"
        }
    }
}
