// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation

@testable import DCFTransport

/// One server event loop that serves connections handed to it directly, such as one end of a socket pair whose
/// buffer sizes the test fixes. Over loopback TCP the kernel grows its buffers to megabytes, so a test cannot
/// tell how much of a response the kernel holds.
struct DirectServerLoop: @unchecked Sendable {  // `server` is used only inside tasks of its loop.
    let server: ServerLoop
    var context: ServerContext { server.context }

    init(security: HTTPServerConfiguration.Security, limits: HTTPServerLimits, handler: some HTTPHandler) throws {
        let tls: TLSContextHolder?
        switch security {
        case .tls(let context): tls = TLSContextHolder(context)
        case .plaintext: tls = nil
        }
        let logger = Logger(component: "test-server", sink: LogSink.standardError(level: .warning))
        let context = ServerContext(handler: handler, limits: limits, logger: logger, tls: tls, loopCount: 1)
        server = try LoopUnit.startLoop(index: 0, context: context)
    }

    /// Serves `fd` as an accepted connection; the connection closes it. When it closes, the connection gives back
    /// the counts of the groups in `counted`, which the caller acquired.
    func serve(_ fd: Int32, counted: CountedGroups = CountedGroups()) {
        context.metrics.openConnections.add(1, ordering: .relaxed)
        let server = self
        let accepted = AcceptedConnection(fd: fd, peer: "socketpair", counted: counted, isOverCapacity: false)
        server.server.loop.execute { server.server.serve(accepted) }
    }

    func stop() {
        let server = self
        server.server.loop.execute { for connection in server.server.connections.values { connection.close(reason: .serverStopped) } }
        server.server.loop.stop()
    }

    /// Waits until no connection is open and returns whether that happened; see `RunningServer.waitFor`.
    func waitForNoConnections() async -> Bool {
        for _ in 0..<3000 {
            if context.metrics.openConnections.load(ordering: .relaxed) == 0 { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return context.metrics.openConnections.load(ordering: .relaxed) == 0
    }
}
