// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import DCFTransport

/// A streamed body whose handler starts reading only when it chooses (`HTTPBodyStream(onStart:)`).
@Suite struct ServerDeferredBodyTests {
    /// Records what a deferred-start handler saw and keeps the demand that starts the body.
    final class Probe: Sendable {
        private struct State {
            var start: HTTPBodyDemand?
            var received: [UInt8] = []
            var chunks = 0
            var ended = false
            var error: HTTPRequestError?
        }

        private let state = Mutex(State())

        var start: HTTPBodyDemand? { state.withLock { $0.start } }
        var received: [UInt8] { state.withLock { $0.received } }
        var chunks: Int { state.withLock { $0.chunks } }
        var ended: Bool { state.withLock { $0.ended } }
        var error: HTTPRequestError? { state.withLock { $0.error } }

        /// A handler that defers every body, responds "got N" at its end, and responds 403 at once for /refuse.
        func handler() -> ClosureHandler {
            ClosureHandler { [self] head, responder in
                .stream(
                    HTTPBodyStream(
                        onStart: { [self] demand in
                            if head.path == "/refuse" {
                                responder.respond(.text(.forbidden, "not admitted\n"))
                                return
                            }
                            state.withLock { $0.start = demand }
                        },
                        onChunk: { [self] chunk, demand in
                            state.withLock {
                                $0.received += chunk
                                $0.chunks += 1
                            }
                            demand.requestMore()
                        },
                        onEnd: { [self] in
                            state.withLock { $0.ended = true }
                            responder.respond(.text(.ok, "got \(received.count)"))
                        },
                        onError: { [self] error in state.withLock { $0.error = error } }))
            }
        }

        /// Waits up to about 10 s for `condition`.
        func waitFor(_ condition: (Probe) -> Bool) async -> Bool {
            for _ in 0..<1000 {
                if condition(self) { return true }
                try? await Task.sleep(for: .milliseconds(10))
            }
            return condition(self)
        }
    }

    /// Returns whether the server sent anything within `milliseconds`, without consuming it for good.
    private static func serverSentSomething(_ client: HTTPTestClient, within milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, milliseconds) > 0
    }

    @Test func continueWaitsForStart() async throws {
        let probe = Probe()
        let running = try RunningServer(handler: probe.handler())
        let client = try HTTPTestClient(port: running.port)
        try client.send("PUT /data HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        #expect(await probe.waitFor { $0.start != nil })
        #expect(!Self.serverSentSomething(client, within: 200), "100 Continue went out before the handler started")
        probe.start?.requestMore()
        let interim = try client.readResponse()
        #expect(interim.status == 100)
        try client.send("hello")
        let final = try client.readResponse()
        #expect(final.status == 200)
        #expect(final.text == "got 5")
        #expect(probe.received == Array("hello".utf8))
        await running.stop()
    }

    @Test func earlyBodyStaysUnread() async throws {
        let probe = Probe()
        let running = try RunningServer(handler: probe.handler())
        let client = try HTTPTestClient(port: running.port)
        let body = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try client.send("PUT /data HTTP/1.1\r\nHost: test\r\nContent-Length: \(body.count)\r\n\r\n")
        #expect(await probe.waitFor { $0.start != nil })
        // The client may push the whole body into the socket buffers; the handler must see none of it yet.
        let descriptor = client.fd
        let sender = Thread {
            var offset = 0
            while offset < body.count {
                let sent = body[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard sent > 0 else { return }
                offset += sent
            }
        }
        sender.start()
        try await Task.sleep(for: .milliseconds(200))
        #expect(probe.chunks == 0)
        probe.start?.requestMore()
        let final = try client.readResponse()
        #expect(final.text == "got \(body.count)")
        #expect(probe.received == body)
        await running.stop()
    }

    private static func unreadInput(_ demand: HTTPBodyDemand?) async -> Bool {
        guard let demand else { return false }
        return await withCheckedContinuation { continuation in
            demand.checkUnreadInput { continuation.resume(returning: $0) }
        }
    }

    @Test func unreadInputSeenUntilRead() async throws {
        let probe = Probe()
        let running = try RunningServer(handler: probe.handler())
        let client = try HTTPTestClient(port: running.port)
        try client.send("PUT /data HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n")
        #expect(await probe.waitFor { $0.start != nil })
        #expect(await Self.unreadInput(probe.start) == false)

        // Sent but not read: the handler has not started the body.
        try client.send("01234")
        var seen = false
        for _ in 0..<100 where !seen {
            seen = await Self.unreadInput(probe.start)
            if !seen { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(seen)

        // Once read, nothing is left; the client has not sent the rest.
        probe.start?.requestMore()
        #expect(await probe.waitFor { $0.received.count == 5 })
        #expect(await Self.unreadInput(probe.start) == false)

        try client.send("56789")
        #expect(try client.readResponse().text == "got 10")
        // The request has ended, so nothing counts as its input any more.
        try client.send("GET /other HTTP/1.1\r\nHost: test\r\n")
        #expect(await Self.unreadInput(probe.start) == false)
        await running.stop()
    }

    /// Part of a TLS record is no input that the server could pass on, so until the rest arrives the client is
    /// the one behind. A client that sends a record header and a few bytes and then stops must not look like a
    /// busy server, or the pace check would keep its upload's place for good.
    @Test func partialTLSRecordIsNotUnreadInput() async throws {
        let probe = Probe()
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let serverContext = try TLSContext(configuration: certificates.serverConfiguration(certificates.server))
        let running = try RunningServer(security: .tls(serverContext), handler: probe.handler())
        let client = try HTTPTestClient(
            port: running.port, tls: try TLSContext(configuration: .client(trustedCAFile: certificates.ca.certificateFile)))
        try client.send("PUT /data HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n")
        #expect(await probe.waitFor { $0.start != nil })
        probe.start?.requestMore()

        // One segment: a record with 5 body bytes, then the header of a 16 KiB application-data record and 100
        // of its bytes, written past the session. The rest of that record never comes.
        var cork: Int32 = 1
        setsockopt(client.fd, Int32(IPPROTO_TCP), TCP_CORK, &cork, socklen_t(MemoryLayout<Int32>.size))
        try client.send("01234")
        let partial: [UInt8] = [0x17, 0x03, 0x03, 0x40, 0x00] + [UInt8](repeating: 0x5A, count: 100)
        #expect(partial.withUnsafeBytes { send(client.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == partial.count)
        cork = 0
        setsockopt(client.fd, Int32(IPPROTO_TCP), TCP_CORK, &cork, socklen_t(MemoryLayout<Int32>.size))
        #expect(await probe.waitFor { $0.received.count == 5 })

        // Once the server has read the partial record into its TLS session, nothing it could act on waits.
        var unread = true
        for _ in 0..<500 where unread {
            unread = await Self.unreadInput(probe.start)
            if unread { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(!unread)
        #expect(probe.error == nil)
        #expect(running.server.statistics.openConnections == 1)
        await running.stop()
    }

    @Test func responseBeforeStartCloses() async throws {
        let probe = Probe()
        let running = try RunningServer(handler: probe.handler())
        let client = try HTTPTestClient(port: running.port)
        try client.send("PUT /refuse HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        let final = try client.readResponse()
        #expect(final.status == 403)
        #expect(final.headers["connection"] == "close")
        #expect(try client.receiveUntilClosed().isEmpty)
        #expect(probe.chunks == 0)
        await running.stop()
    }

    /// The server watches a waiting connection for hang-ups, so a client that leaves ends its request at once,
    /// before the handler starts the body.
    @Test func clientGoneWhileWaitingFailsBodyAtOnce() async throws {
        let probe = Probe()
        let running = try RunningServer(handler: probe.handler())
        do {
            let client = try HTTPTestClient(port: running.port)
            try client.send("PUT /data HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            #expect(await probe.waitFor { $0.start != nil })
        }
        #expect(await probe.waitFor { $0.error != nil })
        probe.start?.requestMore()
        #expect(probe.error == .clientDisconnected)
        #expect(!probe.ended)
        #expect(await running.waitFor { $0.openConnections == 0 })
        await running.stop()
    }
}
