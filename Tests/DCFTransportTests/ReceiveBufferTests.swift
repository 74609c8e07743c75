// SPDX-License-Identifier: Apache-2.0
import Foundation
import DCFSupport
import Glibc
import Synchronization
import Testing

@testable import DCFTransport

/// Tests of the fixed kernel socket buffers: `HTTPServerLimits.receiveBufferBytes` on the server and
/// `HTTPClientConfiguration.socketBufferBytes` on the client.
@Suite struct ReceiveBufferTests {
    private static func withTCPSocket(_ body: (Int32) -> Void) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0, "socket failed: \(String(cString: strerror(errno)))")
        defer { close(fd) }
        body(fd)
    }

    @Test func grantedSizeIsReadBack() throws {
        try Self.withTCPSocket { fd in
            #expect(SocketBuffer.receive.set(fd, bytes: 65536) == 65536)
        }
    }

    @Test func kernelCapShowsAsSmallerGrant() throws {
        // net.core.rmem_max is 208 KiB on a default Debian and 4 MiB on the benchmark machine, far below 1 GiB.
        try Self.withTCPSocket { fd in
            let granted = SocketBuffer.receive.set(fd, bytes: 1 << 30)
            #expect(granted > 0)
            #expect(granted < 1 << 30)
        }
    }

    /// A 32 MiB upload through the smallest buffer dcf-serverd accepts arrives whole, checked by SHA-256.
    @Test func uploadThroughSmallReceiveBuffer() async throws {
        var limits = HTTPServerLimits.patient
        limits.receiveBufferBytes = 64 * 1024
        let blocks = 32
        let running = try RunningServer(limits: limits, handler: HashingUploadHandler.make())
        let client = try HTTPTestClient(port: running.port)
        try client.send("PUT /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(blocks * TestBody.blockSize)\r\n\r\n")
        for index in 0..<blocks { try client.send(TestBody.block(index)) }
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.text == TestBody.digest(blocks: blocks))
        await running.stop()
    }

    /// `HTTPClientConfiguration.socketBufferBytes` fixes both buffers of the client's connections.
    @Test func clientConnectionGetsFixedBuffers() async throws {
        let running = try RunningServer(handler: echoHandler())
        let connection = try HTTPClientConnection(
            host: "127.0.0.1", port: running.port, tlsContext: nil, connectTimeout: .seconds(10),
            deadlines: RequestDeadlines(idleTimeout: .seconds(10), totalTimeout: nil), socketBufferBytes: 96 * 1024)
        for option in [SO_RCVBUF, SO_SNDBUF] {
            var reported: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            #expect(getsockopt(connection.descriptor, SOL_SOCKET, option, &reported, &length) == 0)
            #expect(reported == 2 * 96 * 1024, "option \(option)")
        }
        connection.close()
        await running.stop()
    }

    /// A buffer above the kernel's cap is reported once, at start, with the cap and the fix.
    @Test func cappedBufferWarnsAtStart() async throws {
        var limits = HTTPServerLimits.patient
        limits.receiveBufferBytes = 1 << 30
        let lines = Mutex<[String]>([])
        let logger = Logger(component: "test", sink: LogSink(level: .warning) { line in lines.withLock { $0.append(line) } })
        let configuration = HTTPServerConfiguration(port: 0, security: .plaintext, eventLoopCount: 1, limits: limits)
        let server = HTTPServer(configuration: configuration, handler: echoHandler(), logger: logger)
        _ = try server.start()
        await server.shutdown(gracePeriod: .seconds(1))
        let warnings = lines.withLock { $0 }.filter { $0.contains("smaller receive buffer") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("net.core.rmem_max") == true)
        #expect(warnings.first?.contains("receive_buffer=1073741824") == true)
    }
}
