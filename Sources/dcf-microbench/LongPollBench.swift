// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFSupport
import DCFTransport
import Foundation
import Synchronization

/// Long-poll wake-up: `workers` threads each park a signed `GET /dcf/model/wait` over TLS on an in-process
/// `DCFHTTPService`; the benchmark publishes a new version and measures until the last worker has its response.
enum LongPollBench {
    static let rounds = 3
    static let hold = Duration.seconds(300)

    static func run(workers workerCount: Int, eventLoops: Int) throws {
        print("\n== long-poll wake-up (\(workerCount) workers, TLS, \(eventLoops) server event loops) ==")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dcf-microbench-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (certificate, privateKey) = try makeCertificate(in: directory.path)

        var configuration = DCFServerConfiguration(
            stateDirectory: directory.appendingPathComponent("state"), admission: .safe(keyList: nil))
        configuration.longPollHold = hold
        let source = BenchModelSource(bytes: Data(repeating: 7, count: 4096))
        let logger = Logger(component: "microbench", sink: LogSink.standardError(level: .warning))
        let server = try DCFServer(configuration: configuration, callbacks: source, logger: logger)

        let setupStart = ContinuousClock.now
        let workers = try (0..<workerCount).map { _ in try WaitingWorker() }
        for worker in workers {
            _ = try server.registry.addWorker(publicKey: worker.key.publicKey.hexString, registered: true)
        }
        print(String(format: "setup: %d keys made and registered in %.2f s", workerCount, BenchMachine.seconds(since: setupStart)))

        let tls = try TLSContext(configuration: .server(certificateChainFile: certificate, privateKeyFile: privateKey))
        let service = DCFHTTPService(
            server: server,
            transportConfiguration: HTTPServerConfiguration(port: 0, security: .tls(tls), eventLoopCount: eventLoops),
            logger: logger)
        let port = try service.start()
        defer { stopService(service) }
        let client = try HTTPClient(
            host: "127.0.0.1", port: port,
            configuration: HTTPClientConfiguration(
                transport: .tls(.client(trustedCAFile: certificate, serverName: "localhost")), connectTimeout: .seconds(60),
                idleTimeout: hold, maximumIdleConnections: workerCount + 16))

        let arrivals = ArrivalLog(rounds: rounds)
        let threads = startWorkerThreads(workers, client: client, arrivals: arrivals)
        for round in 0..<rounds {
            try measureRound(round, server: server, source: source, arrivals: arrivals, expected: workerCount)
        }
        threads.wait()
        if let failure = arrivals.firstFailure { print("first failure: \(failure)") }
    }

    /// Waits for every worker to park, publishes the next version and prints how long the responses took.
    private static func measureRound(
        _ round: Int, server: DCFServer, source: BenchModelSource, arrivals: ArrivalLog, expected: Int
    ) throws {
        let parkStart = ContinuousClock.now
        try waitUntil("\(expected) parked long polls (\(server.parkedLongPollCount) parked)") {
            server.parkedLongPollCount + arrivals.failureCount >= expected
        }
        let parkSeconds = BenchMachine.seconds(since: parkStart)
        // A short pause lets the parked connections settle, so the figure is the wake-up alone.
        Thread.sleep(forTimeInterval: 0.5)

        let published = ContinuousClock.now
        let version = source.advance()
        server.globalModelDidChange()
        let publishSeconds = BenchMachine.seconds(since: published)
        try waitUntil("responses in round \(round)") { arrivals.count(round) + arrivals.failureCount >= expected }

        let latencies = arrivals.instants(round).map { BenchMachine.seconds($0 - published) * 1000 }.sorted()
        guard let last = latencies.last else { throw BenchError("no worker received a response in round \(round)") }
        print(String(
            format: "round %d (version %@): %d responded, %d failed; last response %.1f ms after the change "
                + "(median %.1f ms, p99 %.1f ms); globalModelDidChange() returned after %.1f ms; parking took %.1f s",
            round + 1, version.description, latencies.count, arrivals.failureCount, last,
            latencies[latencies.count / 2], latencies[min(latencies.count - 1, latencies.count * 99 / 100)],
            publishSeconds * 1000, parkSeconds))
    }

    /// Starts one thread per worker; each parks a long poll once per round and logs when its response arrived.
    private static func startWorkerThreads(
        _ workers: [WaitingWorker], client: HTTPClient, arrivals: ArrivalLog
    ) -> DispatchGroup {
        let group = DispatchGroup()
        for (index, worker) in workers.enumerated() {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                for round in 0..<rounds {
                    do {
                        _ = try worker.wait(client: client, knownVersion: ModelVersion(UInt64(round + 1)), hold: hold)
                        arrivals.record(round: round, at: .now)
                    } catch {
                        arrivals.recordFailure("\(error)")
                        return
                    }
                }
            }
            thread.stackSize = 256 * 1024
            thread.start()
            // Starting in batches keeps the TLS handshakes from overflowing the listen backlog.
            if index % 100 == 99 { Thread.sleep(forTimeInterval: 0.05) }
        }
        return group
    }

    /// Polls `condition` every 5 ms for up to 120 seconds.
    private static func waitUntil(_ what: String, _ condition: () -> Bool) throws {
        let start = ContinuousClock.now
        while !condition() {
            guard BenchMachine.seconds(since: start) < 120 else { throw BenchError("timed out after 120 s waiting for \(what)") }
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    private static func stopService(_ service: DCFHTTPService) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await service.stop(gracePeriod: .seconds(1))
            done.signal()
        }
        done.wait()
    }

    /// Makes a self-signed P-256 certificate for localhost and 127.0.0.1 with the `openssl` command.
    private static func makeCertificate(in directory: String) throws -> (certificate: String, privateKey: String) {
        let certificate = directory + "/cert.pem"
        let privateKey = directory + "/key.pem"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-keyout", privateKey, "-out", certificate, "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("openssl req exited with status \(process.terminationStatus) making a test certificate")
        }
        return (certificate, privateKey)
    }
}

/// When each worker received its response, per round, and the failures.
final class ArrivalLog: Sendable {
    private let state: Mutex<(instants: [[ContinuousClock.Instant]], failures: [String])>

    init(rounds: Int) {
        state = Mutex((Array(repeating: [], count: rounds), []))
    }

    func record(round: Int, at instant: ContinuousClock.Instant) { state.withLock { $0.instants[round].append(instant) } }

    func recordFailure(_ message: String) { state.withLock { $0.failures.append(message) } }

    func count(_ round: Int) -> Int { state.withLock { $0.instants[round].count } }

    func instants(_ round: Int) -> [ContinuousClock.Instant] { state.withLock { $0.instants[round] } }

    var failureCount: Int { state.withLock { $0.failures.count } }

    var firstFailure: String? { state.withLock { $0.failures.first } }
}
