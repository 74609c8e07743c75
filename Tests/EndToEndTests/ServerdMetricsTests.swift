// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import TestSupport
import Testing

@Suite struct ServerdMetricsTests {
    @Test func countersMoveWithRequests() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }

        let before = try server.metrics()
        for family in [
            "dcf_http_open_connections", "dcf_http_parked_requests", "dcf_http_received_bytes_total",
            "dcf_http_sent_bytes_total", "dcf_http_connections_rejected_per_address_total",
            "dcf_http_connections_rejected_per_network_total", "dcf_requests_total", "dcf_updates_accepted_total",
            "dcf_updates_rejected_total", "dcf_rounds_completed_total", "dcf_aggregation_seconds_total",
            "dcf_global_model_version", "dcf_workers_registered", "process_resident_memory_bytes",
        ] {
            #expect(before.types[family] != nil, "family \(family) missing")
        }
        #expect(before["dcf_global_model_version"] == 1)
        #expect(before["dcf_rounds_completed_total"] == 0)
        #expect(before["dcf_workers_registered"] == 0)

        let healthz = "dcf_requests_total{route=\"healthz\",status=\"200\"}"
        #expect(try server.request("GET", "/healthz").statusCode == 200)
        #expect(try server.request("GET", "/healthz").statusCode == 200)
        #expect(try server.request("GET", "/no/such/path").statusCode == 404)
        let worker = try server.worker(keyFile: fixture.workerKeyFiles[0])
        _ = try await worker.registerWorker()
        let stale = try ServerdFixture.update(from: 1)
        #expect(try await worker.sendModelUpdate(stale).accepted)
        await #expect(throws: (any Error).self) { _ = try await worker.sendModelUpdate(stale) }

        let after = try server.metrics()
        #expect(after[healthz] == (before[healthz] ?? 0) + 2)
        #expect(after["dcf_requests_total{route=\"unknown\",status=\"404\"}"] == 1)
        #expect(after["dcf_requests_rejected_total{code=\"not_found\"}"] == 1)
        #expect(after["dcf_updates_accepted_total"] == 1)
        #expect(after["dcf_updates_rejected_total{reason=\"stale_base_version\"}"] == 1)
        #expect(after["dcf_rounds_completed_total"] == 1)
        #expect(after["dcf_global_model_version"] == 2)
        #expect(after["dcf_workers_registered"] == 1)
        let received = try #require(after["dcf_http_received_bytes_total"])
        let sent = try #require(after["dcf_http_sent_bytes_total"])
        #expect(received > (before["dcf_http_received_bytes_total"] ?? 0) + Double(2 * stale.count))
        #expect(sent > before["dcf_http_sent_bytes_total"] ?? 0)
        #expect((after["dcf_http_responses_total{status=\"200\"}"] ?? 0) > before["dcf_http_responses_total{status=\"200\"}"] ?? 0)
    }

    @Test func healthzReportsReady() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }
        let response = try server.request("GET", "/healthz")
        #expect(response.statusCode == 200)
        #expect(String(decoding: response.body, as: UTF8.self).contains("\"ready\""))
    }

    @Test func rejectedRequestLogIsRateLimited() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }
        let wrongAdmin = "Basic " + Data("ops:wrong-password".utf8).base64EncodedString()
        for _ in 0..<40 {
            _ = try server.request("GET", "/no/such/path")
        }
        let response = try server.request("GET", DCFRoute.adminStatusPath, admin: false, authorization: wrongAdmin)
        #expect(response.statusCode == 401)
        try server.process.waitForLine(containing: "code=unauthorized")
        let lines = server.process.output.split(separator: "\n").filter {
            $0.contains("rejected request") && $0.contains("code=not_found")
        }
        // 40 requests in at most a few seconds at 5 lines per second and code.
        #expect(lines.count >= 1)
        #expect(lines.count < 40)
        #expect(!server.process.output.contains("wrong-password"))
        #expect(!server.process.output.contains(Data("ops:wrong-password".utf8).base64EncodedString()))
        #expect(!server.process.output.contains(ServerdFixture.adminPassword))
    }

    /// With `limits.max_connections_per_address = 2`, a third idle socket from 127.0.0.1 is closed at once, the
    /// warning names the address and the setting, and `/metrics` counts the rejection.
    @Test func perAddressLimitClosesAndCounts() throws {
        try checkLimitClosesAndCounts(
            ["--limits.max_connections_per_address=2"], warning: "per-address connection limit",
            field: "address=127.0.0.1 ", key: "limits.max_connections_per_address",
            metric: "dcf_http_connections_rejected_per_address_total")
    }

    /// With `limits.max_connections_per_network = 2` and a higher per-address limit, a third idle socket from
    /// 127.0.0.1 is closed at once because 127.0.0.0/24 is full, the warning names the network and the setting,
    /// and `/metrics` counts the rejection apart from the per-address ones.
    @Test func perNetworkLimitClosesAndCounts() throws {
        try checkLimitClosesAndCounts(
            ["--limits.max_connections_per_network=2", "--limits.max_connections_per_address=10"],
            warning: "per-network connection limit", field: "network=127.0.0.0/24 ",
            key: "limits.max_connections_per_network", metric: "dcf_http_connections_rejected_per_network_total",
            untouchedMetric: "dcf_http_connections_rejected_per_address_total")
    }

    /// Starts the server with `arguments`, which allow two connections from 127.0.0.1, and checks that a third
    /// idle socket is closed with a warning containing `warning`, `field` and `key`, and counted in `metric`.
    private func checkLimitClosesAndCounts(
        _ arguments: [String], warning phrase: String, field: String, key: String, metric: String,
        untouchedMetric: String? = nil
    ) throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch(arguments)
        defer { server.process.terminate(signal: SIGKILL) }

        let idleSockets = try (0..<2).map { _ in try IdleSocket(port: server.port) }
        let rejected = try IdleSocket(port: server.port)
        #expect(rejected.closesWithoutResponse(), "the server kept a connection over the limit")
        let warning = try server.process.waitForLine(containing: phrase)
        #expect(warning.contains(" warning "), "\(warning)")
        #expect(warning.contains(field), "\(warning)")
        #expect(warning.contains(key), "\(warning)")

        // The server notices the closed socket on its loop, so a scrape may still find both places taken, and
        // each such scrape is rejected and counted too.
        idleSockets[0].close()
        var samples: PrometheusSamples?
        var rejectedScrapes = 0
        for _ in 0..<100 where samples == nil {
            samples = try? server.metrics()
            if samples == nil {
                rejectedScrapes += 1
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        let metrics = try #require(samples, "/metrics stayed unreachable with one place free")
        #expect(metrics[metric] == Double(1 + rejectedScrapes))
        #expect(metrics.types[metric] == "counter")
        if let untouchedMetric { #expect(metrics[untouchedMetric] == 0) }
        _ = idleSockets
    }
}

/// A TCP connection to 127.0.0.1 that sends nothing, closed when it is released.
private final class IdleSocket {
    let fd: Int32

    init(port: Int) throws {
        fd = try LoopbackSocket.connect(port: port, timeout: 10)
    }

    /// Returns whether the server closes the connection without sending a byte, within the 10 s read timeout.
    func closesWithoutResponse() -> Bool {
        LoopbackSocket.closesWithoutResponse(fd)
    }

    private var isClosed = false

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }

    deinit {
        close()
    }
}
