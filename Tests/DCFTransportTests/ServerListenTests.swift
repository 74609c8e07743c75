// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Glibc
import Testing

@testable import DCFTransport

/// Binding the listening port, and sharing it among the loops.
@Suite struct ServerListenTests {
    @Test func portInUseFailsToStart() async throws {
        let first = try RunningServer(loops: 2, handler: echoHandler())
        let logger = Logger(component: "test-server", sink: LogSink(level: .critical) { _ in })
        let second = HTTPServer(
            configuration: HTTPServerConfiguration(port: first.port, security: .plaintext, eventLoopCount: 2),
            handler: echoHandler(), logger: logger)
        let error = try #require(throws: HTTPServerError.self) { try second.start() }
        #expect(error.systemError == SystemError(call: "bind", code: EADDRINUSE))
        #expect(error.description.contains("127.0.0.1:\(first.port)"))
        #expect(second.port == nil)

        // The first server still responds on the port.
        let client = try HTTPClient(
            host: "127.0.0.1", port: first.port, configuration: HTTPClientConfiguration(transport: .plainTCP))
        let response = try client.execute(HTTPClientRequest(path: "/still-here"))
        #expect(String(decoding: response.body, as: UTF8.self) == "GET /still-here 0")
        await first.stop()
    }

    @Test func portIsFreeAfterShutdown() async throws {
        let first = try RunningServer(loops: 3, handler: echoHandler())
        let port = first.port
        await first.stop()
        let logger = Logger(component: "test-server", sink: LogSink(level: .critical) { _ in })
        let second = HTTPServer(
            configuration: HTTPServerConfiguration(port: port, security: .plaintext, eventLoopCount: 2),
            handler: echoHandler(), logger: logger)
        #expect(try second.start() == port)
        await second.shutdown(gracePeriod: .milliseconds(100))
    }

    @Test func everyLoopAcceptsFromSharedSocket() async throws {
        // Every connection gets a response, whichever of the four loops accepts it.
        let running = try RunningServer(loops: 4, handler: echoHandler())
        var clients: [HTTPClient] = []
        for index in 0..<8 {
            let client = try HTTPClient(
                host: "127.0.0.1", port: running.port, configuration: HTTPClientConfiguration(transport: .plainTCP))
            let response = try client.execute(HTTPClientRequest(path: "/\(index)"))
            #expect(String(decoding: response.body, as: UTF8.self) == "GET /\(index) 0")
            clients.append(client)
        }
        #expect(running.server.statistics.openConnections == 8)
        await running.stop()
    }
}
