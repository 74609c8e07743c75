// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing

@testable import DCFTransport

@Suite struct ServerParkingTests {
    /// Parks every request and hands its responder to the test.
    private final class ParkingHandler: HTTPHandler {
        let parked = Mutex<[HTTPResponder]>([])
        let disconnects = Mutex(0)
        let timeout: Duration?

        init(timeout: Duration? = nil) {
            self.timeout = timeout
        }

        func handleRequest(_ head: HTTPRequestHead, responder: HTTPResponder) -> HTTPRequestBodyHandling {
            parked.withLock { $0.append(responder) }
            responder.park(
                timeout: timeout,
                onTimeout: { $0.respond(.text(.ok, "no change")) },
                onDisconnect: { [self] in
                    disconnects.withLock { $0 += 1 }
                    parked.withLock { $0.removeAll { $0 === responder } }
                }
            )
            return .discard
        }

        func serverWillStop() {
            for responder in parked.withLock({ $0 }) { responder.respond(.text(.serviceUnavailable, "stopping")) }
        }
    }

    @Test func parkedRequestCompletedFromAnotherThread() async throws {
        let handler = ParkingHandler()
        let running = try RunningServer(handler: handler)
        let client = try HTTPTestClient(port: running.port)
        try client.send("GET /wait HTTP/1.1\r\nHost: test\r\n\r\n")
        #expect(await running.waitFor { $0.parkedRequests == 1 })
        let responder = try #require(handler.parked.withLock { $0.first })
        let accepted = Signal<(Bool, Bool)>()
        Thread.detachNewThread {
            let first = responder.respond(.text(.ok, "version 2"))
            let second = responder.respond(.text(.ok, "ignored"))
            accepted.set((first, second))
        }
        let response = try client.readResponse()
        #expect(response.text == "version 2")
        let results = await accepted.wait()
        #expect(results?.0 == true)
        #expect(results?.1 == false)
        #expect(await running.waitFor { $0.parkedRequests == 0 })
        await running.stop()
    }

    @Test func disconnectWhileParkedIsNoticed() async throws {
        let handler = ParkingHandler()
        let running = try RunningServer(handler: handler)
        var client: HTTPTestClient? = try HTTPTestClient(port: running.port)
        try client?.send("GET /wait HTTP/1.1\r\nHost: test\r\n\r\n")
        #expect(await running.waitFor { $0.parkedRequests == 1 })
        client = nil
        #expect(await running.waitFor { $0.parkedRequests == 0 && $0.openConnections == 0 })
        #expect(handler.disconnects.withLock { $0 } == 1)
        #expect(handler.parked.withLock { $0.isEmpty })
        await running.stop()
    }

    @Test func parkTimeoutLetsHandlerAnswer() async throws {
        let handler = ParkingHandler(timeout: .milliseconds(50))
        let running = try RunningServer(handler: handler)
        let client = try HTTPTestClient(port: running.port)
        try client.send("GET /wait HTTP/1.1\r\nHost: test\r\n\r\n")
        #expect(try client.readResponse().text == "no change")
        #expect(await running.waitFor { $0.parkedRequests == 0 })
        await running.stop()
    }

    @Test func shutdownLetsHandlerAnswerParkedRequests() async throws {
        let handler = ParkingHandler()
        let running = try RunningServer(handler: handler)
        let client = try HTTPTestClient(port: running.port)
        let idle = try HTTPTestClient(port: running.port)
        try client.send("GET /wait HTTP/1.1\r\nHost: test\r\n\r\n")
        #expect(await running.waitFor { $0.parkedRequests == 1 && $0.openConnections == 2 })
        await running.stop(gracePeriod: .seconds(5))
        let response = try client.readResponse()
        #expect(response.status == 503)
        #expect(response.headers["connection"] == "close")
        #expect(try idle.receiveUntilClosed().isEmpty)
        #expect(running.server.statistics.openConnections == 0)
    }

    @Test func streamedUploadWaitsForDemand() async throws {
        // The handler takes each chunk on another thread and asks for more only after a delay, so the server
        // must hold the rest of the body in the socket rather than in memory.
        let received = Mutex(0)
        let outstanding = Mutex((current: 0, max: 0))
        let handler = ClosureHandler { _, responder in
            .stream(HTTPBodyStream(
                onChunk: { chunk, demand in
                    received.withLock { $0 += chunk.count }
                    outstanding.withLock { $0 = (current: $0.current + 1, max: max($0.max, $0.current + 1)) }
                    DispatchQueue.global().asyncAfter(deadline: .now() + 0.001) {
                        outstanding.withLock { $0.current -= 1 }
                        demand.requestMore()
                    }
                },
                onEnd: { responder.respond(.text(.ok, "\(received.withLock { $0 })")) },
                onError: { _ in }
            ))
        }
        let running = try RunningServer(handler: handler)
        let client = try HTTPTestClient(port: running.port)
        let body = [UInt8](repeating: 7, count: 4 * 1024 * 1024)
        try client.send("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: \(body.count)\r\n\r\n")
        try client.send(body)
        #expect(try client.readResponse().text == "\(body.count)")
        #expect(outstanding.withLock { $0.max } == 1)
        await running.stop()
    }

    @Test func slowHandlerIsNotABodyTimeout() async throws {
        // The handler holds the first chunk for longer than the body timeout before asking for more. The client
        // sends the rest of its body from the handler's own callback, before the handler asks for more, so the
        // client is never silent; only the handler is slow, and the request must complete instead of 408.
        let received = Mutex(0)
        let body = [UInt8](repeating: 7, count: 2000)
        let sendRest = Mutex<(@Sendable () -> Void)?>(nil)
        let handler = ClosureHandler { _, responder in
            .stream(HTTPBodyStream(
                onChunk: { chunk, demand in
                    received.withLock { $0 += chunk.count }
                    if let send = sendRest.withLock({ $0.take() }) { send() }
                    DispatchQueue.global().asyncAfter(deadline: .now() + 0.6) { demand.requestMore() }
                },
                onEnd: { responder.respond(.text(.ok, "\(received.withLock { $0 })")) },
                onError: { _ in }
            ))
        }
        var limits = HTTPServerLimits()
        limits.bodyTimeout = .milliseconds(300)
        let running = try RunningServer(limits: limits, handler: handler)
        let client = try HTTPTestClient(port: running.port)
        let unchecked = UncheckedClient(client: client)
        sendRest.withLock { $0 = { try? unchecked.client.send(Array(body[1000...])) } }
        try client.send("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: \(body.count)\r\n\r\n")
        try client.send(Array(body[..<1000]))
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.text == "\(body.count)")
        await running.stop()
    }
}

/// Lets the handler's callback send on the test's client while the test waits for the response: the callback
/// only writes and the test only reads, so they touch no shared state of the client.
private struct UncheckedClient: @unchecked Sendable {
    let client: HTTPTestClient
}
