// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFServer
import DCFSupport
import DCFTransport
import DCFWorker
import Foundation
import Synchronization
import TestSupport
import Testing

/// Many `DCFWorker`s in one process against one `DCFServer` over TLS on 127.0.0.1.
@Suite(.serialized) struct WorkerConcurrencyTests {
    private static let model = GlobalModel(version: 1, bytes: Data("current global model".utf8))

    /// Each worker's parked long poll blocks a thread. 300 workers exceed the 255 threads a libdispatch pool
    /// grows to on Linux (`DISPATCH_WORKQ_MAX_PTHREAD_COUNT`), so requests sent from dispatch queues would
    /// wait behind the parked ones.
    @Test func threeHundredWorkersParkAtOnce() async throws {
        let workerCount = 300
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let directory = certificates.directory.url
        let strategy = ExampleStrategy(initialModel: Self.model)
        var serverConfiguration = DCFServerConfiguration(
            stateDirectory: directory.appendingPathComponent("state"), admission: .unsafe)
        // A hold far longer than the test, so a worker parks once and stays parked.
        serverConfiguration.longPollHold = .seconds(120)
        let logSink = LogSink(level: .warning) { line in FileHandle.standardError.write(Data(line.utf8)) }
        let logger = Logger(component: "server", sink: logSink)
        let server = try DCFServer(configuration: serverConfiguration, callbacks: strategy, logger: logger)
        strategy.server.withLock { $0 = server }
        let tls = try TLSContext(
            configuration: .server(
                certificateChainFile: certificates.server.certificateFile,
                privateKeyFile: certificates.server.privateKeyFile))
        let service = DCFHTTPService(
            server: server, transportConfiguration: HTTPServerConfiguration(port: 0, security: .tls(tls)),
            logger: logger)
        let port = try service.start()

        var workers: [DCFWorker] = []
        for index in 0..<workerCount {
            let keyFile = directory.appendingPathComponent("worker-\(index).key").path
            _ = try Ed25519KeyFile.generate(at: keyFile)
            let configuration = DCFWorkerConfiguration(
                serverURL: URL(string: "https://127.0.0.1:\(port)")!,
                trustedCAFile: certificates.ca.certificateFile, privateKeyFile: keyFile)
            // Each worker already holds version 1, so its long poll parks until the hold ends.
            let callbacks = DCFWorkerCallbacks(
                globalModelVersionChanged: { _, _ in }, getWorkerVersionOfGlobalModel: { 1 })
            workers.append(
                try DCFWorker(
                    configuration: configuration, callbacks: callbacks,
                    logger: Logger(component: "worker", sink: logSink)))
        }
        let running = workers.map { worker in Task { try await worker.run() } }

        // Bounded wait: 600 checks, 100 ms apart. It only bounds a failing run and asserts no speed.
        var highest = 0
        for _ in 0..<600 where highest < workerCount {
            highest = max(highest, server.parkedLongPollCount)
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(highest == workerCount)
        #expect(strategy.registeredCalls.count == workerCount)

        for worker in workers { worker.stop() }
        for task in running {
            await #expect(throws: CancellationError.self) { try await task.value }
        }
        await service.stop(gracePeriod: .seconds(2))
    }
}
