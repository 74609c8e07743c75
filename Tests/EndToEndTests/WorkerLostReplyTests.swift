// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import DCFWorker
import Foundation
import TestSupport
import Testing

/// A worker whose update reached a real `dcf-serverd` but whose reply was lost learns the outcome. The same signed
/// bytes sent again are rejected as a replay, because the first copy spent the nonce (a restarted server has none
/// of its nonces either). So the worker signs the update over a fresh nonce, and the server replies that it
/// already stores these bytes.
@Suite struct WorkerLostReplyTests {
    @Test func lostReplyEndsInAcceptance() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        // Plain HTTP, so the proxy can read where the update's request ends.
        try fixture.removeTLSFiles()
        let keys = try fixture.workerKeyFiles.map { try ServerdFixture.publicKeyHex($0) }
        try ServerdFixture.write(keys.joined(separator: "\n") + "\n", to: fixture.keyListFile)
        // Two updates close a round, so the first one stays in the open round.
        let server = try fixture.launch(["--update-lim", "2", "--plain-http"])
        defer { server.process.terminate(signal: SIGKILL) }
        let proxy = try UpdateFaultProxy(serverPort: server.port, fault: .dropReply)
        defer { proxy.stop() }
        let workers = try fixture.workerKeyFiles.map { keyFile in
            try DCFWorker(
                configuration: DCFWorkerConfiguration(
                    serverURL: URL(string: "http://127.0.0.1:\(proxy.port)")!, trustedCAFile: nil,
                    privateKeyFile: keyFile),
                callbacks: .idle, logger: Logger(component: "lost-reply-worker", sink: .standardError(level: .error)))
        }
        for worker in workers {
            _ = try await worker.registerWorker()
        }

        let reply: UpdateResponse
        do {
            reply = try await workers[0].sendModelUpdate(try ServerdFixture.update(from: 1))
        } catch {
            Issue.record("\(error); server output: \(server.process.output)")
            return
        }
        #expect(reply.message.contains("already accepted"), "reply: \(reply.message)")
        #expect(server.process.output.contains("replayed"), "the resent copy was not refused as a replay")
        // The round contains the update once, so the other worker's update is the second of two and closes it.
        let closing = try await workers[1].sendModelUpdate(try ServerdFixture.update(from: 1))
        #expect(closing.message.contains("2 of 2 updates"), "reply: \(closing.message)")
    }
}
