// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// The systemd watchdog of `dcf-serverd`, with a datagram socket standing in for systemd's `NOTIFY_SOCKET`.
@Suite struct ServerdWatchdogTests {
    /// A server whose event loops run keeps sending WATCHDOG=1 at half of `WATCHDOG_USEC`, also while clients
    /// connect, and never logs that it withholds a ping.
    @Test func healthyServerKeepsPinging() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        // sun_path has room for 108 bytes, so the socket lives under /tmp rather than the long fixture path.
        let socket = try NotifySocket(path: "/tmp/dcf-serverd-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let server = try fixture.launch(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "2000000"])
        defer { server.process.terminate(signal: SIGKILL) }

        let ready = socket.receive(until: "READY=1", timeout: 30)
        #expect(ready.contains { $0.split(separator: "\n").contains("READY=1") }, "datagrams: \(ready)")
        var pings = 0
        for _ in 0..<4 {
            #expect(try server.request("GET", "/healthz").statusCode == 200)
            let datagrams = socket.receive(until: "WATCHDOG=1", timeout: 10)
            if datagrams.contains(where: { $0.contains("WATCHDOG=1") }) { pings += 1 }
        }
        #expect(pings == 4)

        #expect(try server.stop() == 0)
        #expect(!server.process.output.contains("withholding the systemd watchdog ping"), "\(server.process.output)")
    }
}
