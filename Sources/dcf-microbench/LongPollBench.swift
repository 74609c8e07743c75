// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFSupport
import DCFTransport
import Foundation

/// Long-poll wake-up: `workers` threads each park a signed `GET /dcf/model/wait` over TLS on a
/// `DCFHTTPService` in this process; the benchmark publishes a new version and measures until the last worker
/// has its response. The client threads run either in this process or in a child process.
enum LongPollBench {
    static let rounds = 3
    static let hold = Duration.seconds(300)

    static func run(workers workerCount: Int, eventLoops: Int, placements: [LongPollClients.Placement]) throws {
        for placement in placements {
            try run(workers: workerCount, eventLoops: eventLoops, placement: placement)
        }
    }

    private static func run(workers workerCount: Int, eventLoops: Int, placement: LongPollClients.Placement) throws {
        print("\n== long-poll wake-up (\(workerCount) workers, TLS, \(eventLoops) server event loops, "
            + "clients \(placement.rawValue)) ==")
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

        let arrivals = ArrivalLog(rounds: rounds)
        let clients = try startClients(
            workers, placement: placement, port: port, certificate: certificate, directory: directory.path,
            arrivals: arrivals)
        for round in 0..<rounds {
            try measureRound(
                round, service: service, source: source, arrivals: arrivals, expected: workerCount,
                clientPID: clients.pid)
        }
        try clients.wait()
        if let failure = arrivals.firstFailure { print("first failure: \(failure)") }
    }

    /// Starts the client threads where `placement` says; returns a function that waits for them to finish, and
    /// the child's process id when they run in one.
    private static func startClients(
        _ workers: [WaitingWorker], placement: LongPollClients.Placement, port: Int, certificate: String,
        directory: String, arrivals: ArrivalLog
    ) throws -> (wait: () throws -> Void, pid: Int32?) {
        switch placement {
        case .inProcess:
            let group = try LongPollClients.start(
                workers, port: port, trustedCAFile: certificate, rounds: rounds, hold: hold
            ) { event in
                switch event {
                case .arrival(let round, let instant): arrivals.record(round: round, at: instant)
                case .failure(let message): arrivals.recordFailure(message)
                }
            }
            return ({ group.wait() }, nil)
        case .childProcess, .eventLoop:
            let child = try ClientProcess(
                workers: workers, port: port, trustedCAFile: certificate, directory: directory,
                mode: placement.childMode, arrivals: arrivals)
            let wait = {
                defer { child.terminate() }
                try child.wait()
            }
            return (wait, child.processIdentifier)
        }
    }

    /// Waits for every worker to park, publishes the next version and prints how long the responses took.
    private static func measureRound(
        _ round: Int, service: DCFHTTPService, source: BenchModelSource, arrivals: ArrivalLog, expected: Int,
        clientPID: Int32?
    ) throws {
        let server = service.server
        let parkStart = ContinuousClock.now
        try waitUntil("\(expected) parked long polls (\(server.parkedLongPollCount) parked)") {
            server.parkedLongPollCount + arrivals.failureCount >= expected
        }
        let parkSeconds = BenchMachine.seconds(since: parkStart)
        // A short pause lets the parked connections settle, so the figure is the wake-up alone.
        Thread.sleep(forTimeInterval: 0.5)
        let perLoop = service.statistics.openConnectionsByLoop.map(String.init).joined(separator: "/")

        let cpu = RoundCPU(clientPID: clientPID)
        let published = ArrivalLog.now()
        let publishCPUStart = RoundCPU.threadNanoseconds()
        let version = source.advance()
        server.globalModelDidChange()
        let publishCPU = Double(RoundCPU.threadNanoseconds() - publishCPUStart) / 1e6
        let publishMilliseconds = Double(ArrivalLog.now() - published) / 1e6
        try waitUntil("responses in round \(round)") { arrivals.count(round) + arrivals.failureCount >= expected }
        let cpuReport = cpu.report(clientsExited: round == rounds - 1)

        let latencies = arrivals.instants(round).map { Double(Int64(bitPattern: $0 &- published)) / 1e6 }.sorted()
        guard let last = latencies.last else { throw BenchError("no worker received a response in round \(round)") }
        print(String(
            format: "round %d (version %@): %d responded, %d failed; last response %.1f ms after the change "
                + "(median %.1f ms, p99 %.1f ms); globalModelDidChange() returned after %.1f ms and used %.1f ms CPU; "
                + "parking took %.1f s; connections per loop %@; load average %@",
            round + 1, version.description, latencies.count, arrivals.failureCount, last,
            latencies[latencies.count / 2], latencies[min(latencies.count - 1, latencies.count * 99 / 100)],
            publishMilliseconds, publishCPU, parkSeconds, perLoop, BenchMachine.loadAverage))
        print("  from the change to the last response, CPU used (and time runnable but waiting for a CPU): " + cpuReport)
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
