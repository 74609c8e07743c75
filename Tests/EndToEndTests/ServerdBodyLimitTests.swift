// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import TestSupport
import Testing

/// An update body over `max_update_bytes` gets the real server's JSON `body_too_large` error, also past the
/// transport's own limit, where the transport responds in the handler's error format.
@Suite struct ServerdBodyLimitTests {
    private static let updateLimit = 1 << 20

    /// Starts a server whose update limit is 1 MiB, above the 64 KiB control limit, so the update limit is the
    /// one the transport's own limit is derived from.
    private static func launch(_ fixture: ServerdFixture) throws -> RunningServerd {
        let config = try String(contentsOfFile: fixture.configFile, encoding: .utf8)
        let marker = "long_poll_hold = \"120s\""
        guard config.contains(marker) else { throw ServerdTestError("no \(marker) line in the fixture's config") }
        try ServerdFixture.write(
            config.replacingOccurrences(of: marker, with: marker + "\nmax_update_bytes = \"1MiB\""),
            to: fixture.configFile)
        return try fixture.launch()
    }

    @Test func oversizedUpdateGetsJSONError() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try Self.launch(fixture)
        defer { server.process.terminate(signal: SIGKILL) }

        // From one byte over the limit up to twice the limit, which is the transport's limit, the handler responds.
        for size in [Self.updateLimit + 1, 2 * Self.updateLimit] {
            let response = try server.request("POST", DCFRoute.updatePath, body: Data(count: size))
            #expect(response.statusCode == 413, "\(size) bytes")
            let error = try JSONDecoder().decode(DCFErrorResponse.self, from: response.body)
            #expect(error.code == .bodyTooLarge, "\(size) bytes: \(error)")
            #expect(error.message.contains("\(size)"), "\(size) bytes: \(error)")
        }
        // Past the transport's limit, the transport responds before the handler gets the head, in the same format.
        let beyond = try server.request("POST", DCFRoute.updatePath, body: Data(count: 2 * Self.updateLimit + 1))
        #expect(beyond.statusCode == 413)
        let beyondError = try JSONDecoder().decode(DCFErrorResponse.self, from: beyond.body)
        #expect(beyondError.code == .bodyTooLarge, "\(beyondError)")
        #expect(beyondError.message.contains("\(Self.updateLimit) bytes for an update"), "\(beyondError)")
        #expect(beyondError.message.contains("65536 bytes for other requests"), "\(beyondError)")

        let metrics = try server.metrics()
        #expect(metrics["dcf_requests_rejected_total{code=\"body_too_large\"}"] == 3)
        #expect(metrics["dcf_http_responses_total{status=\"413\"}"] == 3)
        #expect(metrics["dcf_updates_rejected_total{reason=\"body_too_large\"}"] == 2)
    }
}
