// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@testable import DCFTransport

/// The systemd watchdog of dcf-serverd pings only while `unresponsiveLoops()` is empty, so it must name a loop
/// that is stuck in a handler and clear it once the loop runs again.
@Suite struct LoopLivenessTests {
    /// Calls `unresponsiveLoops()` until it returns an empty list, at most 600 times 10 ms apart.
    private func waitUntilResponsive(_ server: HTTPServer) async -> Bool {
        for _ in 0..<600 {
            if server.unresponsiveLoops().isEmpty { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// With pings at half of `WatchdogSec`, one withheld ping leaves a gap of the whole interval, after which
    /// systemd kills the service. So a loop is reported only after it missed the probes of two checks, and a loop
    /// busy for less than `WatchdogSec` costs no ping.
    @Test func stuckLoopIsNamedUntilItRunsAgain() async throws {
        let entered = Signal<Bool>()
        let release = DispatchSemaphore(value: 0)
        let handler = ClosureHandler { head, responder in
            if head.target == "/block" {
                entered.set(true)
                // Blocking here is exactly what a handler must never do; it stands for a stuck loop.
                release.wait()
            }
            responder.respond(.text(.ok, "done"))
            return .discard
        }
        let running = try RunningServer(loops: 1, handler: handler)
        #expect(await waitUntilResponsive(running.server))

        let client = try HTTPTestClient(port: running.port, timeout: 60)
        // A loop iteration runs its queued tasks after its events, so every probe queued before this request runs
        // before a later iteration handles the blocking request.
        try client.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try client.readResponse().status == 200)
        try client.send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await entered.wait() == true)
        // The first call queues a probe that the blocked loop cannot run. The second finds that probe one interval
        // old, which legitimate work may cause, so it reports nothing. The third finds it two intervals old.
        _ = running.server.unresponsiveLoops()
        #expect(running.server.unresponsiveLoops().isEmpty)
        #expect(running.server.unresponsiveLoops() == [0])
        #expect(running.server.unresponsiveLoops() == [0])

        release.signal()
        #expect(try client.readResponse().status == 200)
        #expect(await waitUntilResponsive(running.server))
        await running.stop()
    }

    @Test func serverNotRunningHasNoLoopsToReport() throws {
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(port: 0, security: .plaintext, eventLoopCount: 2),
            handler: echoHandler(), logger: .init(component: "test", sink: .standardError(level: .error)))
        #expect(server.unresponsiveLoops().isEmpty)
    }
}
