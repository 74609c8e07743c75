// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DCFTransport

/// A graceful shutdown finishes the requests in flight, including one whose body is still arriving.
@Suite struct BreakerDrainTests {
    @Test func drainFinishesArrivingBody() async throws {
        let stopping = Signal<Bool>()
        var handler = echoHandler()
        handler.onStop = { stopping.set(true) }
        let running = try RunningServer(handler: handler)
        let client = try HTTPTestClient(port: running.port)
        try client.send("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n12345")
        #expect(await running.waitFor { $0.openConnections == 1 })
        let drain = Task { await running.stop(gracePeriod: .seconds(5)) }
        #expect(await stopping.wait() == true)
        // The client sends the rest of its body as soon as the drain has begun.
        try client.send("67890")
        let response = try? client.readResponse()
        #expect(response?.status == 200, "the drain dropped a request whose body was still arriving")
        #expect(response?.text == "POST /upload 10")
        await drain.value
    }
}
