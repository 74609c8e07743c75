// SPDX-License-Identifier: Apache-2.0
public import DCFSupport
public import DCFTransport
import Foundation

/// A `DCFServer` served over HTTP/1.1: the transport's `HTTPServer` with a `DCFHTTPHandler`.
///
/// Call `start()` once, `reloadTLS(_:)` when certificates change, and `stop(gracePeriod:)` to drain.
public final class DCFHTTPService: Sendable {
    /// The backend.
    public let server: DCFServer
    private let http: HTTPServer
    private let logger: Logger

    /// - Parameters:
    ///   - transportConfiguration: address, TLS and limits of the listener. Keep its `limits.maxBodyBytes`
    ///     strictly above the server's `maximumUpdateBodyBytes` and `maximumControlBodyBytes`, for example at
    ///     `transportBodyLimit(for:)`: the transport answers a `Content-Length` over its own limit with a
    ///     plain-text 413 before the handler can send the JSON `body_too_large` error.
    public init(server: DCFServer, transportConfiguration: HTTPServerConfiguration, logger: Logger) {
        self.server = server
        self.logger = logger
        http = HTTPServer(
            configuration: transportConfiguration, handler: DCFHTTPHandler(server: server),
            logger: logger.child("http"))
        server.addMetricsSource { [http] writer in
            Self.writeTransportMetrics(http.statistics, to: &writer)
        }
    }

    /// Returns a transport body limit for `configuration`: twice the larger of its update and control body
    /// limits, so a body declared up to twice too large gets the JSON `body_too_large` error from the handler.
    ///
    /// NOTE: a `Content-Length` above this limit still gets the transport's plain-text 413, because the
    /// transport checks it before it passes the request head to the handler.
    public static func transportBodyLimit(for configuration: DCFServerConfiguration) -> Int {
        let handlerLimit = max(configuration.maximumUpdateBodyBytes, configuration.maximumControlBodyBytes)
        let (doubled, overflow) = handlerLimit.multipliedReportingOverflow(by: 2)
        return overflow ? Int.max : doubled
    }

    private static func writeTransportMetrics(_ statistics: HTTPServerStatistics, to writer: inout PrometheusTextWriter) {
        writer.gauge(
            "dcf_http_open_connections", help: "Client connections accepted and not yet closed.",
            value: Double(statistics.openConnections))
        writer.gauge(
            "dcf_http_parked_requests", help: "Requests parked by the transport (long polls) and not yet answered.",
            value: Double(statistics.parkedRequests))
        writer.counter(
            "dcf_http_connections_rejected_per_address_total",
            help: "Connections closed at accept, without a response, because their client address (an IPv4 "
                + "address or an IPv6 /64) already had limits.max_connections_per_address open connections.",
            value: Double(statistics.connectionsRejectedPerAddress))
        writer.counter(
            "dcf_http_connections_rejected_per_network_total",
            help: "Connections closed at accept, without a response, because their client network (an IPv4 /24 "
                + "or an IPv6 /48) already had limits.max_connections_per_network open connections.",
            value: Double(statistics.connectionsRejectedPerNetwork))
        writer.counter(
            "dcf_http_received_bytes_total", help: "Bytes read from clients, after TLS decryption.",
            value: Double(statistics.bytesIn))
        writer.counter(
            "dcf_http_sent_bytes_total", help: "Bytes sent to clients, before TLS encryption.",
            value: Double(statistics.bytesOut))
        writer.counter(
            "dcf_http_responses_total",
            help: "Responses started by HTTP status, including the transport's own errors such as 408 and 431.",
            samples: statistics.responsesByStatus.sorted { $0.key < $1.key }.map {
                ([("status", String($0.key))], Double($0.value))
            })
    }

    /// Deletes spool files of an earlier process, starts the backend unless it already runs, and listens;
    /// returns the bound port.
    ///
    /// - Throws: a file error when the spool directory cannot be cleared, or the transport's
    ///   `HTTPServerError` or `SystemError` when the port cannot be bound.
    @discardableResult
    public func start() throws -> Int {
        let spool = UpdateSpool(stateDirectory: server.configuration.stateDirectory)
        try spool.removeLeftovers()
        spool.setReuseLimit(server.configuration.spoolReuseLimit)
        server.startIfCreated()
        return try http.start()
    }

    /// The bound port while listening, else nil.
    public var port: Int? { http.port }

    /// The transport's counters: connections, parked requests, bytes and responses by status.
    public var statistics: HTTPServerStatistics { http.statistics }

    /// Returns the event loops that ran no task since the call before the previous one; see
    /// `HTTPServer.unresponsiveLoops()`.
    public func unresponsiveLoops() -> [Int] { http.unresponsiveLoops() }

    /// Loads certificates and key from `configuration` for new connections. Open connections keep theirs, unless
    /// the client certificate policy changed: see `HTTPServer.replaceTLSContext(_:)`.
    ///
    /// - Returns: the context now served and what happened to the open connections.
    /// - Throws: `TLSError` when a file cannot be loaded (the old certificates stay in use), or
    ///   `HTTPServerError` when the service listens without TLS.
    @discardableResult
    public func reloadTLS(_ configuration: TLSConfiguration) throws -> (TLSContext, TLSContextReplacement) {
        let context = try TLSContext(configuration: configuration)
        return (context, try http.replaceTLSContext(context))
    }

    /// Stops accepting requests, answers every parked long poll with `unavailable`, waits up to `gracePeriod`
    /// for responses in progress, then closes the remaining connections.
    public func stop(gracePeriod: Duration = .seconds(5)) async {
        await http.shutdown(gracePeriod: gracePeriod)
        server.stop()
        // Kept update files would hold their disk space until the next start.
        UpdateSpool(stateDirectory: server.configuration.stateDirectory).removeKeptFiles()
    }
}
