// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing

@testable import DCFTransport

/// `HTTPResponder.batchingResponses(whenWritten:)`: the completion runs once every loop wrote its share.
@Suite struct ResponseBatchTests {
    private final class ParkingHandler: HTTPHandler {
        let parked = Mutex<[HTTPResponder]>([])

        func handleRequest(_ head: HTTPRequestHead, responder: HTTPResponder) -> HTTPRequestBodyHandling {
            parked.withLock { $0.append(responder) }
            responder.park(timeout: nil, onTimeout: { _ in }, onDisconnect: {})
            return .discard
        }

        func serverWillStop() {
            for responder in parked.withLock({ $0 }) { responder.respond(.text(.serviceUnavailable, "stopping")) }
        }
    }

    @Test func completionRunsAfterBatchIsWritten() async throws {
        let handler = ParkingHandler()
        let running = try RunningServer(handler: handler)
        let clients = try (0..<6).map { _ in try HTTPTestClient(port: running.port) }
        for client in clients { try client.send("GET /wait HTTP/1.1\r\nHost: test\r\n\r\n") }
        #expect(await running.waitFor { $0.parkedRequests == clients.count })

        let written = Signal<Int>()
        let parked = handler.parked.withLock { $0 }
        let server = running.server
        HTTPResponder.batchingResponses(whenWritten: { written.set(server.statistics.responsesByStatus[200] ?? 0) }) {
            for responder in parked { responder.respond(.text(.ok, "version 2")) }
        }
        // Every answer had been written by the time the completion ran.
        #expect(await written.wait() == clients.count)
        for client in clients { #expect(try client.readResponse().text == "version 2") }
        await running.stop()
    }

    @Test func emptyBatchCompletesAtOnce() async throws {
        let ran = Atomic(false)
        HTTPResponder.batchingResponses(whenWritten: { ran.store(true, ordering: .relaxed) }) {}
        let completed = ran.load(ordering: .relaxed)
        #expect(completed)
    }
}
