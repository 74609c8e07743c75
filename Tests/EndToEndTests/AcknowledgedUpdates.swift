// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import DCFWorker
import Foundation
import Synchronization

/// One update for which `dcf-serverd` sent a success response.
struct AcknowledgedUpdate: Sendable {
    let worker: Int
    /// The version the update was trained from.
    let baseVersion: UInt64
    /// The round the reply names ("accepted into the round from version N"), or nil when it names none.
    let round: UInt64?
    let reply: String
}

/// In-process workers that send one update per global model version and record exactly which sends got a success
/// response. Unlike `dcf-agent`, a worker sends again after any failure but a rejection until the server
/// acknowledges the update or moves past its version, so a round stalls only when the server lost an update it
/// had acknowledged.
///
/// Worker `i` trains version V into a model whose every value is `8 V + i`, with `10 + i` examples, so each
/// aggregated version has a known mean (`expectedMean(roundFrom:)`).
final class AcknowledgingWorkers: Sendable {
    let count: Int
    private let workers: [DCFWorker]
    private let acknowledged = Mutex<[AcknowledgedUpdate]>([])
    /// Failures that must not happen: rejections other than a stale base version, and registrations the server lost.
    private let problems: Shared<[String]>
    /// The version each worker handled last, which its long poll reports as held.
    private let handled: Shared<[UInt64?]>
    /// Worker `i` sends updates for versions up to `lastVersions[i]`, and keeps a later one back (for up to 60 s).
    private let lastVersions: Mutex<[UInt64]>
    /// Runs after each acknowledgement is recorded, on the worker's task; a test kills the server from it.
    private let onAcknowledgement = Mutex<(@Sendable (AcknowledgedUpdate) -> Void)?>(nil)
    private let tasks = Mutex<[Task<Void, any Error>]>([])
    static let tensorShape = [256, 256]

    /// Creates workers for the key files, all talking to `serverURL`; nothing is sent before `registerAll()`.
    init(keyFiles: [String], serverURL: URL, caFile: String) throws {
        count = keyFiles.count
        let handled = Shared<[UInt64?]>(Array(repeating: nil, count: keyFiles.count))
        let problems = Shared<[String]>([])
        let training = TrainingHook()
        var workers: [DCFWorker] = []
        for (index, keyFile) in keyFiles.enumerated() {
            var configuration = DCFWorkerConfiguration(
                serverURL: serverURL, trustedCAFile: caFile, privateKeyFile: keyFile)
            // Short delays, so the workers find the restarted server soon after each kill.
            configuration.backoff = RetryBackoff(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(500))
            configuration.longPollTimeout = .seconds(180)
            configuration.connectTimeout = .seconds(5)
            // `train(worker:version:)` retries itself and bounds its attempts, so each send gives up within a second.
            configuration.updateRetryWindow = .seconds(1)
            let callbacks = DCFWorkerCallbacks(
                globalModelVersionChanged: { _, version in try await training.train(index, version.rawValue) },
                getWorkerVersionOfGlobalModel: { handled.withLock { $0[index] }.map { ModelVersion($0) } })
            workers.append(try DCFWorker(
                configuration: configuration, callbacks: callbacks,
                logger: Logger(component: "crash-worker-\(index)", sink: Self.sink(index: index, problems: problems))))
        }
        self.workers = workers
        self.handled = handled
        self.problems = problems
        lastVersions = Mutex(Array(repeating: UInt64.max, count: keyFiles.count))
        training.set { [weak self] index, version in try await self?.train(worker: index, version: version) }
    }

    /// Registers every worker, so the server has acknowledged each registration when it returns.
    func registerAll() async throws {
        for worker in workers { try await worker.registerWorker() }
    }

    /// Starts each worker's long-poll loop, which hands every new version to `train(worker:version:)`.
    func start() {
        let started = workers.map { worker in
            Task { try await worker.run() }
        }
        tasks.withLock { $0 = started }
    }

    func stop() {
        for worker in workers { worker.stop() }
        for task in tasks.withLock({ $0 }) { task.cancel() }
    }

    /// Makes worker `index` hold back its updates for versions above `version`.
    func setLastVersion(_ version: UInt64, forWorker index: Int) {
        lastVersions.withLock { $0[index] = version }
    }

    func setOnAcknowledgement(_ action: (@Sendable (AcknowledgedUpdate) -> Void)?) {
        onAcknowledgement.withLock { $0 = action }
    }

    var acknowledgements: [AcknowledgedUpdate] { acknowledged.withLock { $0 } }
    var unexpectedFailures: [String] { problems.withLock { $0 } }

    /// Returns the workers whose update trained from `version` the server acknowledged.
    func acknowledgedWorkers(baseVersion version: UInt64) -> Set<Int> {
        Set(acknowledgements.filter { $0.baseVersion == version }.map(\.worker))
    }

    /// The value every element of the version aggregated from `version` must have: the example-weighted mean of
    /// `8 version + i` over all workers `i`.
    func expectedMean(roundFrom version: UInt64) -> Float {
        var sum = 0.0
        var weight = 0.0
        for index in 0..<count {
            sum += Double(10 + index) * (8 * Double(version) + Double(index))
            weight += Double(10 + index)
        }
        return Float(sum / weight)
    }

    /// Returns the update that worker `index` trains from `version`.
    static func update(worker index: Int, from version: UInt64) throws -> Data {
        let metadata = UpdateMetadata(
            numExamples: 10 + index, baseVersion: ModelVersion(version), metrics: ["loss": 0.5])
        var writer = SafeTensorsWriter(metadata: metadata.safetensorsMetadata)
        let value = Float(8 * version + UInt64(index))
        try writer.add(
            name: "layer.weight", shape: tensorShape,
            values: [Float](repeating: value, count: tensorShape.reduce(1, *)))
        try writer.add(name: "layer.bias", shape: [tensorShape[0]], values: [Float](repeating: value, count: tensorShape[0]))
        return writer.serialize()
    }

    /// Returns the initial model, version 1, with the layout of `update(worker:from:)`.
    static func initialModel() throws -> Data {
        var writer = SafeTensorsWriter(metadata: [:])
        try writer.add(
            name: "layer.weight", shape: tensorShape, values: [Float](repeating: 0, count: tensorShape.reduce(1, *)))
        try writer.add(name: "layer.bias", shape: [tensorShape[0]], values: [Float](repeating: 0, count: tensorShape[0]))
        return writer.serialize()
    }

    /// Collects the lines that show a lost registration: the worker logs them when the server has no registration for it.
    private static func sink(index: Int, problems: Shared<[String]>) -> LogSink {
        LogSink(level: .notice) { line in
            if line.contains("registering again") {
                problems.withLock { $0.append("worker \(index): \(line)") }
            }
        }
    }

    /// Sends worker `index`'s update for `version` until the server acknowledges it or moves past the version.
    /// Gives up after about 60 s, which leaves the round open, so the test's wait for the next version fails.
    private func train(worker index: Int, version: UInt64) async throws {
        defer { handled.withLock { $0[index] = version } }
        // Held back until the test raises the limit or stops the workers.
        for _ in 0..<3000 where version > lastVersions.withLock({ $0[index] }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        guard version <= lastVersions.withLock({ $0[index] }) else { return }
        let payload = try Self.update(worker: index, from: version)
        for _ in 0..<1200 {
            try Task.checkCancellation()
            do {
                let reply = try await workers[index].sendModelUpdate(payload)
                let acknowledgement = AcknowledgedUpdate(
                    worker: index, baseVersion: version, round: Self.round(in: reply.message), reply: reply.message)
                acknowledged.withLock { $0.append(acknowledgement) }
                onAcknowledgement.withLock { $0 }?(acknowledgement)
                return
            } catch let error as DCFWorkerError where error.serverErrorCode == .updateRejected {
                // A stale base version means the round from `version` closed, which it does only with an update
                // from every worker, this one included.
                if error.serverErrorReason != "stale_base_version" {
                    problems.withLock { $0.append("worker \(index), version \(version): \(error)") }
                }
                return
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // The server is down or restarting, or it may have stored the update without replying: the same
                // bytes sent again are either accepted or reported as already accepted.
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        problems.withLock { $0.append("worker \(index) gave up sending its update from version \(version)") }
    }

    /// The round a reply names: "accepted into the round from version N".
    static func round(in reply: String) -> UInt64? {
        guard let range = reply.range(of: #"round from version \d+"#, options: .regularExpression) else { return nil }
        return UInt64(reply[range].split(separator: " ").last ?? "")
    }
}

/// The training step of every worker, set once the workers exist.
private final class TrainingHook: Sendable {
    private let action = Mutex<(@Sendable (Int, UInt64) async throws -> Void)?>(nil)

    func set(_ train: @escaping @Sendable (Int, UInt64) async throws -> Void) {
        action.withLock { $0 = train }
    }

    func train(_ worker: Int, _ version: UInt64) async throws {
        try await action.withLock { $0 }?(worker, version)
    }
}

/// A value behind a lock that closures can capture.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ initial: Value) {
        value = Mutex(initial)
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try value.withLock { try body(&$0) }
    }
}
