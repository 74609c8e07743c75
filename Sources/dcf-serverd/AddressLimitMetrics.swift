// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import DCFTransport

extension PrometheusTextWriter {
    /// Appends the count of connections closed by `limits.max_connections_per_address`, next to the
    /// `dcf_http_*` connection families that `DCFHTTPService` writes.
    mutating func appendAddressLimitMetrics(_ statistics: HTTPServerStatistics) {
        counter(
            "dcf_http_connections_rejected_per_address_total",
            help: "Connections closed at accept, without a response, because their client address (an IPv4 "
                + "address or an IPv6 /64) already had limits.max_connections_per_address open connections.",
            value: Double(statistics.connectionsRejectedPerAddress))
    }
}
