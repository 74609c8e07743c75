// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import DCFWorker
import Foundation
import TestSupport
import Testing

/// A real `dcf-serverd` counts an update, its reply is lost, and the server is killed before the worker resends it.
/// The server stays down longer than the worker's resends of the same bytes last, but well within
/// `updateRetryWindow`. By docs/operations.md the agent keeps an update the server did not take and sends it again
/// for the whole window. The restarted server recovered the update, so it is expected to reply "already accepted",
/// and the site does not train the same base version again.
@Suite struct WorkerLostReplyOutageTests {
    @Test func updateWithLostReplyOutlastsLongRestart() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        // Plain HTTP, so the proxy can read where the update's request ends.
        try fixture.removeTLSFiles()
        let keys = try fixture.workerKeyFiles.map { try ServerdFixture.publicKeyHex($0) }
        try ServerdFixture.write(keys.joined(separator: "\n") + "\n", to: fixture.keyListFile)
        // Two updates close a round, so the update stays in the open round that the restart recovers.
        let first = try fixture.launch(["--update-lim", "2", "--plain-http"], logName: "serverd-1.log")
        defer { first.process.terminate(signal: SIGKILL) }
        let proxy = try UpdateFaultProxy(serverPort: first.port, fault: .dropReply)
        defer { proxy.stop() }
        var configuration = DCFWorkerConfiguration(
            serverURL: URL(string: "http://127.0.0.1:\(proxy.port)")!, trustedCAFile: nil,
            privateKeyFile: fixture.workerKeyFiles[0])
        // The five resends of the same bytes take at most 5 s. The window is far longer than the outage below.
        configuration.backoff = RetryBackoff(initialDelay: .seconds(1), multiplier: 1, maximumDelay: .seconds(1))
        configuration.updateRetryWindow = .seconds(60)
        let worker = try DCFWorker(
            configuration: configuration, callbacks: .idle,
            logger: Logger(component: "outage-worker", sink: .standardError(level: .info)))
        _ = try await worker.registerWorker()

        let sending = Task { try await worker.sendModelUpdate(try ServerdFixture.update(from: 1)) }
        // The server counted the update and the proxy drops its reply. The kill lands before the first resend.
        _ = try first.process.waitForLine(containing: "accepted update", timeout: 30)
        first.process.terminate(signal: SIGKILL)
        // Longer than the resends of the same bytes, far shorter than updateRetryWindow.
        try await Task.sleep(for: .seconds(10))
        let second = try fixture.launch(
            ["--update-lim", "2", "--plain-http", "--listen", "127.0.0.1:\(first.port)"], logName: "serverd-2.log")
        defer { second.process.terminate(signal: SIGKILL) }
        #expect(second.process.output.contains("recovered the open round"), "server log:\n\(second.process.output)")

        do {
            let reply = try await sending.value
            #expect(reply.message.contains("already accepted"), "reply: \(reply.message)")
        } catch {
            Issue.record(
                "the worker dropped an update the server had counted, 10 s into a 60 s retry window: \(error)")
        }
    }
}
