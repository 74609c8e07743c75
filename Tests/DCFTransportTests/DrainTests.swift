// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Synchronization
import Testing

@testable import DCFTransport

/// A graceful shutdown finishes the requests in flight, including one whose body is still arriving, and
/// closes connections without a request at once.
@Suite struct DrainTests {
    private static let uploadHead = "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n"

    /// Starts an echo server whose `serverWillStop` sets the returned signal, which happens after every loop
    /// has begun its drain.
    private static func startServer(
        limits: HTTPServerLimits = .patient
    ) throws -> (RunningServer, Signal<Bool>) {
        let stopping = Signal<Bool>()
        var handler = echoHandler()
        handler.onStop = { stopping.set(true) }
        return (try RunningServer(limits: limits, handler: handler), stopping)
    }

    /// A connection that another loop accepted reaches its loop through a task, which may run after that loop
    /// began its drain. Such a connection is closed at once instead of keeping the drain waiting.
    @Test func connectionHandedOverDuringDrainIsClosed() async throws {
        let direct = try DirectServerLoop(security: .plaintext, limits: .patient, handler: echoHandler())
        direct.context.isDraining.store(true, ordering: .relaxed)
        let sockets = try TLSSocketPair()
        direct.serve(sockets.serverSide)
        #expect(await direct.waitForNoConnections())
        direct.stop()
        close(sockets.clientSide)
    }

    /// The stopping line gives the grace period in the units the configuration uses.
    @Test func stoppingLineNamesGracePeriodWithUnit() async throws {
        let lines = Mutex<[String]>([])
        let sink = LogSink(level: .info) { line in lines.withLock { $0.append(line) } }
        let running = try RunningServer(limits: .patient, logSink: sink, handler: echoHandler())
        await running.stop(gracePeriod: .milliseconds(1500))
        let stopping = lines.withLock { $0 }.filter { $0.contains(" stopping") }
        #expect(stopping.count == 1, "\(stopping)")
        #expect(stopping.allSatisfy { $0.contains("grace_period=1500ms") }, "\(stopping)")
    }

    @Test func drainFinishesArrivingBody() async throws {
        let (running, stopping) = try Self.startServer()
        let client = try HTTPTestClient(port: running.port)
        try client.send(Self.uploadHead + "12345")
        // Once the server counted the bytes, their loop has parsed them, before it runs the drain.
        #expect(await running.waitFor { $0.bytesIn == Self.uploadHead.utf8.count + 5 })
        let drain = Task { await running.stop(gracePeriod: .seconds(5)) }
        #expect(await stopping.wait() == true)
        // The client sends the rest of its body as soon as the drain has begun.
        try client.send("67890")
        let response = try? client.readResponse()
        #expect(response?.status == 200, "the drain dropped a request whose body was still arriving")
        #expect(response?.text == "POST /upload 10")
        #expect(response?.headers["connection"] == "close")
        await drain.value
    }

    /// Connections between requests, or with only part of a head received, are closed while an unfinished upload
    /// keeps the drain waiting, so they never wait for the grace period.
    @Test func drainClosesConnectionsWithoutRequestAtOnce() async throws {
        let (running, stopping) = try Self.startServer()
        let idle = try HTTPTestClient(port: running.port)
        try idle.send("GET /first HTTP/1.1\r\nHost: test\r\n\r\n")
        #expect(try idle.readResponse().status == 200)
        let partialHead = try HTTPTestClient(port: running.port)
        let partialText = "GET /second HTTP/1.1\r\nHo"
        try partialHead.send(partialText)
        let uploading = try HTTPTestClient(port: running.port)
        try uploading.send(Self.uploadHead + "12345")
        let sent = "GET /first HTTP/1.1\r\nHost: test\r\n\r\n".utf8.count + partialText.utf8.count
            + Self.uploadHead.utf8.count + 5
        #expect(await running.waitFor { $0.bytesIn == sent })

        let drain = Task { await running.stop(gracePeriod: .seconds(30)) }
        #expect(await stopping.wait() == true)
        #expect(try idle.receiveUntilClosed().isEmpty)
        #expect(try partialHead.receiveUntilClosed().isEmpty)
        // Only now does the upload end; until then it kept the drain waiting.
        try uploading.send("67890")
        #expect(try uploading.readResponse().text == "POST /upload 10")
        await drain.value
        #expect(running.server.statistics.openConnections == 0)
    }

    /// A client that never sends the rest of its body still gets the body timeout's 408 during a drain.
    @Test func drainCutsOffStalledBody() async throws {
        var limits = HTTPServerLimits()
        limits.bodyTimeout = .seconds(1)
        let (running, stopping) = try Self.startServer(limits: limits)
        let client = try HTTPTestClient(port: running.port)
        try client.send(Self.uploadHead + "12345")
        #expect(await running.waitFor { $0.bytesIn == Self.uploadHead.utf8.count + 5 })
        let drain = Task { await running.stop(gracePeriod: .seconds(30)) }
        #expect(await stopping.wait() == true)
        let response = try client.readResponse()
        #expect(response.status == 408)
        await drain.value
        #expect(running.server.statistics.responsesByStatus[408] == 1)
    }

    /// With a grace period shorter than the body timeout, the grace period ends a stalled upload.
    @Test func gracePeriodEndsStalledBody() async throws {
        let (running, _) = try Self.startServer()
        let client = try HTTPTestClient(port: running.port)
        try client.send(Self.uploadHead + "12345")
        #expect(await running.waitFor { $0.bytesIn == Self.uploadHead.utf8.count + 5 })
        await running.stop(gracePeriod: .milliseconds(300))
        #expect(try client.receiveUntilClosed().isEmpty)
        #expect(running.server.statistics.openConnections == 0)
    }
}
