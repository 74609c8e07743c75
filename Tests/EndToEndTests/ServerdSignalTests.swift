// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFWorker
import Foundation
import Synchronization
import TestSupport
import Testing

@Suite struct ServerdSignalTests {
    @Test func reloadKeepsParkedLongPoll() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }

        let versions = Mutex<[ModelVersion]>([])
        let callbacks = DCFWorkerCallbacks(
            globalModelVersionChanged: { _, version in versions.withLock { $0.append(version) } },
            getWorkerVersionOfGlobalModel: { versions.withLock { $0.last } })
        let replacement = try ReplacementCertificate(in: fixture.directory.path)
        // The waiting worker trusts the test CA and the certificate the reload switches to.
        let bothCAs = fixture.directory.file("both-cas.pem")
        try ServerdFixture.write(
            try String(contentsOfFile: fixture.certificates.ca.certificateFile, encoding: .utf8)
                + String(contentsOfFile: replacement.certificateFile, encoding: .utf8),
            to: bothCAs)
        let waiting = try server.worker(keyFile: fixture.workerKeyFiles[0], callbacks: callbacks, trusting: bothCAs)
        let loop = Task { try await waiting.run() }
        defer { waiting.stop() }
        try await waitUntil("the worker holds version 1 and its long poll is parked") {
            try versions.withLock({ $0 }) == [1] && server.metrics()["dcf_long_polls_parked"] == 1
        }

        // The first long poll (knowing no version) was answered at once; the second one is parked.
        let waitSeries = "dcf_requests_total{route=\"model_wait\",status=\"200\"}"
        let answeredBefore = try #require(try server.metrics()[waitSeries])

        // Worker 1 is not in the key list yet, and the served certificate is signed by the test CA.
        let newKey = try fixture.publicKeyHex(1)
        #expect(try !server.workers().contains { $0.publicKey == newKey })
        try ServerdFixture.write(try fixture.publicKeyHex(0) + "\n" + fixture.publicKeyHex(1) + "\n", to: fixture.keyListFile)
        try replace(fixture.certificateFile, with: replacement.certificateFile)
        try replace(fixture.privateKeyFile, with: replacement.privateKeyFile)
        kill(server.process.pid, SIGHUP)
        let tlsLine = try server.process.waitForLine(containing: "reloaded TLS certificate and key", timeout: 30)
        #expect(tlsLine.contains("subject=\"/CN=dcf-replacement\""), "\(tlsLine)")
        #expect(tlsLine.contains(" not_after=20"), "\(tlsLine)")
        #expect(tlsLine.firstMatch(of: #/sha256_fingerprint=([0-9A-F]{2}:){31}[0-9A-F]{2}/#) != nil, "\(tlsLine)")
        let keyListLine = try server.process.waitForLine(containing: "reloaded worker key list")
        #expect(keyListLine.contains("added=1 removed=0 unregistered=0"), "\(keyListLine)")

        let replacementCA = replacement.certificateFile
        let afterReload = try server.request("GET", "/healthz", trusting: replacementCA)
        #expect(afterReload.statusCode == 200)
        #expect(throws: (any Error).self) { try server.request("GET", "/healthz") }
        let keys = try reloadedWorkers(server, trusting: replacementCA).map(\.publicKey)
        #expect(keys.contains(try fixture.publicKeyHex(1)))

        let metrics = try PrometheusSamples(
            parsing: String(decoding: try server.request("GET", "/metrics", trusting: replacementCA).body, as: UTF8.self))
        #expect(metrics["dcf_long_polls_parked"] == 1)
        #expect(metrics[waitSeries] == answeredBefore)
        #expect(metrics.values.keys.filter { $0.contains("route=\"model_wait\"") } == [waitSeries])

        // A new version completes the long poll parked before the reload.
        let sender = try server.worker(keyFile: fixture.workerKeyFiles[1], trusting: replacementCA)
        _ = try await sender.registerWorker()
        #expect(try await sender.sendModelUpdate(try ServerdFixture.update(from: 1)).accepted)
        try await waitUntil("the waiting worker received version 2") { versions.withLock { $0 } == [1, 2] }
        let after = try PrometheusSamples(
            parsing: String(decoding: try server.request("GET", "/metrics", trusting: replacementCA).body, as: UTF8.self))
        #expect(after[waitSeries] == answeredBefore + 1)
        #expect(after.values.keys.filter { $0.contains("route=\"model_wait\"") } == [waitSeries])
        loop.cancel()
    }

    /// A reload logs a changed log level, both when it lowers the level (the line is written before the switch)
    /// and when it raises it (after the switch).
    @Test func reloadLogsChangedLogLevel() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }

        let config = try String(contentsOfFile: fixture.configFile, encoding: .utf8)
        #expect(config.contains("level = \"debug\"\n"))
        for (from, to) in [("debug", "warning"), ("warning", "info")] {
            try ServerdFixture.write(
                config.replacingOccurrences(of: "level = \"debug\"\n", with: "level = \"\(to)\"\n"),
                to: fixture.configFile)
            kill(server.process.pid, SIGHUP)
            let line = try server.process.waitForLine(containing: "log level changed from=\(from)", timeout: 30)
            #expect(line.contains(" notice serverd: log level changed from=\(from) to=\(to)"), "\(line)")
        }
    }

    @Test func reloadNamesSettingsThatNeedRestart() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }

        let config = try String(contentsOfFile: fixture.configFile, encoding: .utf8)
        #expect(config.contains("update_lim = 1\n"))
        try ServerdFixture.write(
            config.replacingOccurrences(of: "update_lim = 1\n", with: "update_lim = 5\nkeep_versions = 3\n"),
            to: fixture.configFile)
        kill(server.process.pid, SIGHUP)
        let line = try server.process.waitForLine(containing: "take effect only after a restart", timeout: 30)
        #expect(line.contains("fedavg.update_lim fedavg.keep_versions"), "\(line)")
        #expect(!line.contains("key_list"), "\(line)")
        // The running round still closes at the limit the server started with.
        #expect(try server.status().round["update_lim"] == 1)
    }

    /// A reload of a config file with several problems logs each on a line of its own, with time, level and the
    /// message; a line break inside one log line made the journal show later problems as bare lines. The running
    /// settings stay.
    @Test func brokenReloadLogsOneLinePerProblem() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }

        let config = try String(contentsOfFile: fixture.configFile, encoding: .utf8)
        try ServerdFixture.write(
            config.replacingOccurrences(of: "event_loops = 2\n", with: "event_loops = 2\nbogus_key = 1\n")
                .replacingOccurrences(of: "update_lim = 1\n", with: "update_lim = 0\n"),
            to: fixture.configFile)
        kill(server.process.pid, SIGHUP)
        let first = try server.process.waitForLine(containing: "bogus_key", timeout: 30)
        let second = try server.process.waitForLine(containing: "in [fedavg]: expected an integer", timeout: 30)
        for line in [first, second] {
            #expect(line.contains(" error serverd: reload failed; keeping the running settings error="), "\(line)")
        }
        #expect(first != second)
        #expect(try server.request("GET", "/healthz").statusCode == 200)
        #expect(try server.status().round["update_lim"] == 1)
    }

    @Test func terminateDrainsAndStateSurvives() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let first = try fixture.launch()
        defer { first.process.terminate(signal: SIGKILL) }
        let worker = try first.worker(keyFile: fixture.workerKeyFiles[0])
        _ = try await worker.registerWorker()
        let response = try await worker.sendModelUpdate(try ServerdFixture.update(from: 1))
        #expect(response.accepted)
        #expect(try first.status().modelVersion == 2)

        #expect(try first.stop(signal: SIGTERM) == 0)
        #expect(first.process.output.contains("stopped"))

        let second = try fixture.launch(logName: "restart.log")
        defer { second.process.terminate(signal: SIGKILL) }
        #expect(try second.status().modelVersion == 2)
        let key = try fixture.publicKeyHex(0)
        let entry = try #require(try second.workers().first { $0.publicKey == key })
        #expect(entry.registered)
        #expect(try second.stop(signal: SIGINT) == 0)
    }

    @Test func readinessReachesNotifySocket() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        // sun_path holds 108 bytes, so the socket lives under /tmp rather than the long fixture path.
        let socket = try NotifySocket(path: "/tmp/dcf-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let server = try fixture.launch(environment: ["NOTIFY_SOCKET": socket.path])
        defer { server.process.terminate(signal: SIGKILL) }
        let messages = socket.receive(until: "READY=1", timeout: 30)
        #expect(messages.contains { $0.split(separator: "\n").contains("READY=1") }, "datagrams: \(messages)")

        kill(server.process.pid, SIGTERM)
        let stopping = socket.receive(until: "STOPPING=1", timeout: 30)
        #expect(stopping.contains { $0.contains("STOPPING=1") }, "datagrams: \(stopping)")
        #expect(server.process.waitForExit() == 0)
    }

    private func replace(_ path: String, with source: String) throws {
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: source, toPath: path)
    }

    private func reloadedWorkers(_ server: RunningServerd, trusting ca: String) throws -> [AdminWorkerEntry] {
        let response = try server.request("GET", DCFRoute.adminWorkersPath, admin: true, trusting: ca)
        return try JSONDecoder().decode([AdminWorkerEntry].self, from: response.body)
    }
}

/// Polls `condition` every 50 ms until it holds, failing after `bound` seconds so a broken server cannot hang
/// the test run.
func waitUntil(_ what: String, bound: Double = 60, _ condition: () throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(bound)
    while Date() < deadline {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw ServerdTestError("timed out after \(bound) s waiting until \(what)")
}
