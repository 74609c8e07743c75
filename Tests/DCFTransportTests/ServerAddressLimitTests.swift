// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Synchronization
import Testing
import TestSupport

@testable import DCFTransport

/// `HTTPServerLimits.maxConnectionsPerAddress` and `maxConnectionsPerNetwork` on a real server over loopback.
@Suite struct ServerAddressLimitTests {
    private static let request = "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n"

    private static func limits(perAddress: Int, perNetwork: Int = 0) -> HTTPServerLimits {
        var limits = HTTPServerLimits.patient
        limits.maxConnectionsPerAddress = perAddress
        limits.maxConnectionsPerNetwork = perNetwork
        return limits
    }

    /// Returns a connected TCP socket from `source` to 127.0.0.1:`port`, or -1 when it cannot connect.
    private static func connectSocket(port: Int, source: String = "127.0.0.1") -> Int32 {
        (try? LoopbackSocket.connect(port: port, timeout: 10, source: source)) ?? -1
    }

    /// Returns a TCP socket connected to [::1]:`port`, or -1 when it cannot connect.
    private static func connectLoopbackIPv6(port: Int) -> Int32 {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        var remote = sockaddr_in6()
        remote.sin6_family = sa_family_t(AF_INET6)
        remote.sin6_port = UInt16(port).bigEndian
        remote.sin6_addr = in6addr_loopback
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return -1
        }
        var limit = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    @Test func connectionOverAddressLimitIsClosed() async throws {
        let running = try RunningServer(limits: Self.limits(perAddress: 3), handler: echoHandler())
        var clients = try (0..<3).map { _ in try HTTPTestClient(port: running.port) }
        #expect(await running.waitFor { $0.openConnections == 3 })

        let fourth = Self.connectSocket(port: running.port)
        try #require(fourth >= 0)
        #expect(LoopbackSocket.closesWithoutResponse(fourth), "a connection over the per-address limit was not closed")
        close(fourth)
        #expect(await running.waitFor { $0.connectionsRejectedPerAddress == 1 })
        #expect(running.server.statistics.openConnections == 3)

        for client in clients {
            try client.send(Self.request)
            #expect(try client.readResponse().status == 200)
        }
        clients.removeFirst()
        #expect(await running.waitFor { $0.openConnections == 2 })
        let replacement = try HTTPTestClient(port: running.port)
        try replacement.send(Self.request)
        #expect(try replacement.readResponse().status == 200)
        #expect(running.server.statistics.connectionsRejectedPerAddress == 1)
        await running.stop()
    }

    /// Over TLS the rejected connection is closed before its handshake, so the client's handshake fails.
    @Test func tlsConnectionOverAddressLimitIsClosed() async throws {
        let fixture = try ServerTLSTests.TLSFixture(limits: Self.limits(perAddress: 1), handler: echoHandler())
        let running = fixture.running
        let first = try HTTPTestClient(port: running.port, tls: fixture.clientContext)
        #expect(await running.waitFor { $0.openConnections == 1 })
        #expect(throws: TestClientError.self) { try HTTPTestClient(port: running.port, tls: fixture.clientContext) }
        #expect(await running.waitFor { $0.connectionsRejectedPerAddress == 1 })
        try first.send(Self.request)
        #expect(try first.readResponse().status == 200)
        await fixture.stop()
    }

    /// The rejection is logged with the address. All servers in a process share one 10 s repeat limit for the
    /// warning, so another test's rejection may have turned this one into a debug line without the advice.
    @Test func rejectionIsLoggedWithAddress() async throws {
        let lines = Mutex<[String]>([])
        let sink = LogSink(level: .debug) { line in lines.withLock { $0.append(line) } }
        let running = try RunningServer(limits: Self.limits(perAddress: 1), logSink: sink, handler: echoHandler())
        let first = try HTTPTestClient(port: running.port)
        #expect(await running.waitFor { $0.openConnections == 1 })
        let rejected = Self.connectSocket(port: running.port)
        try #require(rejected >= 0)
        #expect(LoopbackSocket.closesWithoutResponse(rejected))
        close(rejected)
        #expect(await running.waitFor { $0.connectionsRejectedPerAddress == 1 })
        let rejections = lines.withLock { $0 }.filter { $0.contains("over the per-address connection limit") }
        #expect(rejections.count == 1)
        let line = try #require(rejections.first)
        #expect(line.contains(" address=127.0.0.1 "))
        #expect(line.contains(" limit=1"))
        if line.contains(" warning ") {
            #expect(line.contains("limits.max_connections_per_address"))
        }
        _ = first
        await running.stop()
    }

    @Test func otherAddressesHaveOwnCount() async throws {
        let running = try RunningServer(limits: Self.limits(perAddress: 1), handler: echoHandler())
        let first = try HTTPTestClient(port: running.port)
        #expect(await running.waitFor { $0.openConnections == 1 })
        let other = Self.connectSocket(port: running.port, source: "127.0.0.2")
        try #require(other >= 0, "cannot connect from 127.0.0.2")
        defer { close(other) }
        #expect(Self.sendText(Self.request, on: other))
        var reply = [UInt8](repeating: 0, count: 12)
        #expect(recv(other, &reply, reply.count, Int32(MSG_WAITALL)) == reply.count)
        #expect(String(decoding: reply, as: UTF8.self) == "HTTP/1.1 200")
        try first.send(Self.request)
        #expect(try first.readResponse().status == 200)
        #expect(running.server.statistics.connectionsRejectedPerAddress == 0)
        await running.stop()
    }

    /// On a dual-stack socket an IPv4 client arrives as `::ffff:127.0.0.1` and is counted as 127.0.0.1, while
    /// ::1 is a group of its own.
    @Test func dualStackCountsMappedAsIPv4() async throws {
        let running = try RunningServer(host: "::", limits: Self.limits(perAddress: 1), handler: echoHandler())
        let ipv4 = Self.connectSocket(port: running.port)
        try #require(ipv4 >= 0)
        defer { close(ipv4) }
        #expect(await running.waitFor { $0.openConnections == 1 })
        #expect(running.server.connectionsPerAddress == [.ipv4(0x7F00_0001): 1])

        let secondIPv4 = Self.connectSocket(port: running.port)
        try #require(secondIPv4 >= 0)
        #expect(LoopbackSocket.closesWithoutResponse(secondIPv4))
        close(secondIPv4)
        #expect(await running.waitFor { $0.connectionsRejectedPerAddress == 1 })

        let ipv6 = Self.connectLoopbackIPv6(port: running.port)
        try #require(ipv6 >= 0, "cannot connect to ::1")
        defer { close(ipv6) }
        #expect(Self.sendText(Self.request, on: ipv6))
        var reply = [UInt8](repeating: 0, count: 12)
        #expect(recv(ipv6, &reply, reply.count, Int32(MSG_WAITALL)) == reply.count)
        #expect(String(decoding: reply, as: UTF8.self) == "HTTP/1.1 200")
        #expect(running.server.connectionsPerAddress[.ipv6Network(0)] == 1)
        await running.stop()
    }

    @Test func zeroTurnsLimitOff() async throws {
        let running = try RunningServer(limits: Self.limits(perAddress: 0), handler: echoHandler())
        let clients = try (0..<5).map { _ in try HTTPTestClient(port: running.port) }
        for client in clients {
            try client.send(Self.request)
            #expect(try client.readResponse().status == 200)
        }
        #expect(running.server.connectionsPerAddress.isEmpty)
        await running.stop()
    }

    @Test func negativeLimitIsRejected() throws {
        var limits = HTTPServerLimits()
        limits.maxConnectionsPerAddress = -1
        let configuration = HTTPServerConfiguration(port: 0, security: .plaintext, limits: limits)
        let logger = Logger(component: "t", sink: .standardError(level: .error))
        let server = HTTPServer(configuration: configuration, handler: echoHandler(), logger: logger)
        let error = #expect(throws: HTTPServerError.self) { try server.start() }
        #expect(error?.description.contains("maxConnectionsPerAddress is -1") == true)
    }

    /// Connections that end by client close, reset, server close after an error response, and the rejection
    /// itself each give their count back, so the limit still admits its full number afterwards.
    @Test func countReturnsAfterClientAndErrorEndings() async throws {
        let running = try RunningServer(limits: Self.limits(perAddress: 3), handler: echoHandler())
        for _ in 0..<20 {
            do {
                let malformed = try HTTPTestClient(port: running.port)
                try malformed.send("GARBAGE\r\n\r\n")
                #expect(try malformed.readResponse().status == 400)
                #expect(try malformed.receiveUntilClosed().isEmpty)
            }
            #expect(await running.waitFor { $0.openConnections == 0 })

            var served: HTTPTestClient? = try HTTPTestClient(port: running.port)
            try served?.send(Self.request)
            #expect(try served?.readResponse().status == 200)
            let resetting = Self.connectSocket(port: running.port)
            try #require(resetting >= 0)
            #expect(Self.sendText("GET /partial HTTP/1.1\r\n", on: resetting))
            let silent = Self.connectSocket(port: running.port)
            try #require(silent >= 0)
            #expect(await running.waitFor { $0.openConnections == 3 })

            let rejected = Self.connectSocket(port: running.port)
            try #require(rejected >= 0)
            #expect(LoopbackSocket.closesWithoutResponse(rejected))
            close(rejected)

            served = nil
            LoopbackSocket.reset(resetting)
            close(silent)
            #expect(await running.waitFor { $0.openConnections == 0 })
        }
        #expect(running.server.connectionsPerAddress.isEmpty)
        #expect(running.server.statistics.connectionsRejectedPerAddress == 20)

        let clients = try (0..<3).map { _ in try HTTPTestClient(port: running.port) }
        for client in clients {
            try client.send(Self.request)
            #expect(try client.readResponse().status == 200)
        }
        #expect(running.server.statistics.connectionsRejectedPerAddress == 20)
        await running.stop()
    }

    /// Plain TCP connections closed by the idle timeout, and TLS connections closed by the handshake timeout,
    /// after a plaintext request on the TLS port, or after a complete handshake, give their count back.
    @Test func countReturnsAfterTimeoutsAndTLSEndings() async throws {
        var plainLimits = Self.limits(perAddress: 2)
        plainLimits.idleTimeout = .milliseconds(100)
        let plain = try RunningServer(limits: plainLimits, handler: echoHandler())
        for _ in 0..<10 {
            let idle = try (0..<2).map { _ in try HTTPTestClient(port: plain.port) }
            for client in idle { #expect(try client.receiveUntilClosed().isEmpty) }
        }
        #expect(await plain.waitFor { $0.openConnections == 0 })
        #expect(plain.server.connectionsPerAddress.isEmpty)
        await plain.stop()

        var tlsLimits = Self.limits(perAddress: 2)
        tlsLimits.handshakeTimeout = .milliseconds(100)
        let fixture = try ServerTLSTests.TLSFixture(limits: tlsLimits, handler: echoHandler())
        let port = fixture.running.port
        for _ in 0..<10 {
            let silent = Self.connectSocket(port: port)
            try #require(silent >= 0)
            #expect(LoopbackSocket.closesWithoutResponse(silent))
            close(silent)
            let plaintext = try HTTPTestClient(port: port)
            try plaintext.send(Self.request)
            #expect(try plaintext.readResponse().status == 400)
        }
        #expect(await fixture.running.waitFor { $0.openConnections == 0 })
        #expect(fixture.running.server.connectionsPerAddress.isEmpty)
        await fixture.stop()
    }

    /// A drain closes idle connections, partial heads and parked requests, and each gives its count back.
    @Test func countReturnsAfterDrain() async throws {
        let handler = ClosureHandler { head, responder in
            if head.target == "/wait" {
                responder.park(timeout: nil, onTimeout: { _ in }, onDisconnect: {})
            } else {
                responder.respond(.text(.ok, "ok"))
            }
            return .discard
        }
        let running = try RunningServer(limits: Self.limits(perAddress: 4), handler: handler)
        let idle = try HTTPTestClient(port: running.port)
        try idle.send(Self.request)
        #expect(try idle.readResponse().status == 200)
        let silent = try HTTPTestClient(port: running.port)
        let partial = try HTTPTestClient(port: running.port)
        try partial.send("GET /partial HTTP/1.1\r\nHo")
        let parked = try HTTPTestClient(port: running.port)
        try parked.send("GET /wait HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(await running.waitFor { $0.parkedRequests == 1 })
        #expect(await running.waitFor { $0.openConnections == 4 })
        #expect(running.server.connectionsPerAddress.values.reduce(0, +) == 4)
        await running.stop(gracePeriod: .milliseconds(200))
        #expect(running.server.statistics.openConnections == 0)
        #expect(running.server.connectionsPerAddress.isEmpty)
        _ = (silent, partial, parked)
    }

    /// A connection that reaches its loop after the drain began is closed there and gives both counts back.
    @Test func handoverDuringDrainGivesCountBack() async throws {
        let limits = Self.limits(perAddress: 1, perNetwork: 1)
        let direct = try DirectServerLoop(security: .plaintext, limits: limits, handler: echoHandler())
        direct.context.isDraining.store(true, ordering: .relaxed)
        let group = ClientAddressGroup.ipv4(0x7F00_0001)
        let counted = CountedGroups(address: group, network: group.network)
        #expect(direct.context.acquireGroupCounts(for: group) == .admitted(counted))
        let sockets = try TLSSocketPair()
        direct.serve(sockets.serverSide, counted: counted)
        #expect(await direct.waitForNoConnections())
        #expect(direct.context.connectionsPerAddress.count(of: group) == 0)
        #expect(direct.context.connectionsPerNetwork.count(of: group.network) == 0)
        direct.stop()
        close(sockets.clientSide)
    }

    /// Over TLS, a third connection from 127.0.0.1 under a per-network limit of 2 is closed before any TLS
    /// work, while the first two stay open and keep their counts, and the rejected one keeps no count.
    @Test func tlsConnectionOverNetworkLimitIsClosed() async throws {
        let limits = Self.limits(perAddress: 10, perNetwork: 2)
        let fixture = try ServerTLSTests.TLSFixture(limits: limits, handler: echoHandler())
        let running = fixture.running
        let clients = try (0..<2).map { _ in try HTTPTestClient(port: running.port, tls: fixture.clientContext) }
        #expect(await running.waitFor { $0.openConnections == 2 })

        let third = Self.connectSocket(port: running.port)
        try #require(third >= 0)
        #expect(LoopbackSocket.closesWithoutResponse(third), "a connection over the per-network limit was not closed")
        close(third)
        #expect(await running.waitFor { $0.connectionsRejectedPerNetwork == 1 })
        #expect(running.server.statistics.connectionsRejectedPerAddress == 0)
        #expect(running.server.statistics.openConnections == 2)
        #expect(running.server.connectionsPerAddress == [.ipv4(0x7F00_0001): 2])
        #expect(running.server.connectionsPerNetwork == [.ipv4Network(0x7F00_0000): 2])

        for client in clients {
            try client.send(Self.request)
            #expect(try client.readResponse().status == 200)
        }
        await fixture.stop()
    }

    /// 127.0.0.1, 127.0.0.2 and 127.0.0.3 share the network 127.0.0.0/24, so with a per-network limit of 2 the
    /// third address is rejected although each address has its own count, and the warning names the network.
    /// All servers in a process share one 10 s repeat limit for the warning, so another test's rejection may have
    /// turned it into a debug line without the advice.
    @Test func networkLimitCountsAcrossAddresses() async throws {
        let lines = Mutex<[String]>([])
        let sink = LogSink(level: .debug) { line in lines.withLock { $0.append(line) } }
        let limits = Self.limits(perAddress: 1, perNetwork: 2)
        let running = try RunningServer(limits: limits, logSink: sink, handler: echoHandler())
        let first = Self.connectSocket(port: running.port, source: "127.0.0.1")
        try #require(first >= 0)
        defer { close(first) }
        let second = Self.connectSocket(port: running.port, source: "127.0.0.2")
        try #require(second >= 0, "cannot connect from 127.0.0.2")
        defer { close(second) }
        #expect(await running.waitFor { $0.openConnections == 2 })

        let third = Self.connectSocket(port: running.port, source: "127.0.0.3")
        try #require(third >= 0, "cannot connect from 127.0.0.3")
        #expect(LoopbackSocket.closesWithoutResponse(third))
        close(third)
        #expect(await running.waitFor { $0.connectionsRejectedPerNetwork == 1 })
        #expect(running.server.statistics.connectionsRejectedPerAddress == 0)
        #expect(running.server.connectionsPerAddress == [.ipv4(0x7F00_0001): 1, .ipv4(0x7F00_0002): 1])

        let rejections = lines.withLock { $0 }.filter { $0.contains("over the per-network connection limit") }
        #expect(rejections.count == 1)
        let line = try #require(rejections.first)
        #expect(line.contains(" network=127.0.0.0/24 "))
        #expect(line.contains(" peer=127.0.0.3:"))
        #expect(line.contains(" limit=2"))
        if line.contains(" warning ") {
            #expect(line.contains("limits.max_connections_per_network"))
        }

        #expect(Self.sendText(Self.request, on: second))
        var reply = [UInt8](repeating: 0, count: 12)
        #expect(recv(second, &reply, reply.count, Int32(MSG_WAITALL)) == reply.count)
        #expect(String(decoding: reply, as: UTF8.self) == "HTTP/1.1 200")
        await running.stop()
        #expect(running.server.connectionsPerAddress.isEmpty)
        #expect(running.server.connectionsPerNetwork.isEmpty)
    }

    @Test func negativeNetworkLimitIsRejected() throws {
        var limits = HTTPServerLimits()
        limits.maxConnectionsPerNetwork = -1
        let configuration = HTTPServerConfiguration(port: 0, security: .plaintext, limits: limits)
        let logger = Logger(component: "t", sink: .standardError(level: .error))
        let server = HTTPServer(configuration: configuration, handler: echoHandler(), logger: logger)
        let error = #expect(throws: HTTPServerError.self) { try server.start() }
        #expect(error?.description.contains("maxConnectionsPerNetwork is -1") == true)
    }

    /// Sends all of `text` on a blocking socket and returns whether it did.
    private static func sendText(_ text: String, on fd: Int32) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }
}
