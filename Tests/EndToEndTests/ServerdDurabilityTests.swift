// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import DCFWorker
import Foundation
import TestSupport
import Testing

/// Runs the real `dcf-serverd` under `strace` through registrations, admin changes and three rounds, in one of which
/// a worker replaces its update. Then `DurabilityCheck` checks that every file a reply promises was durable against a
/// power loss before the client received the reply:
///
/// - a registration or an admin add, disable, enable or remove: the SQLite registry, `registry.sqlite` and its
///   write-ahead log `registry.sqlite-wal` (the registry runs with `journal_mode=WAL` and `synchronous=FULL`);
/// - an accepted update: its file `rounds/from-v<N>/<worker id>.safetensors`, or, when it closed the round, the new
///   version `models/v<M>.safetensors`, which contains it;
/// - a downloaded global model: `models/v<N>.safetensors`.
///
/// What it records: every system call of the server's threads that writes, flushes, creates, renames or deletes a file
/// or directory, whichever library makes it (Foundation, SQLite, the product's own code), because strace stops the
/// thread at the system call itself rather than at a library function. What it misses: changes through a writable
/// memory mapping (the server maps files only to read them, and SQLite maps only its `-shm` index, which it rebuilds
/// after a crash), whether the disk honours a flush, and removals (a deleted update file that a power loss brings
/// back). The receipt time is taken
/// when the client call returns, a little after the bytes arrived, so a flush the server made in that gap after
/// sending the reply would pass.
///
/// strace needs ptrace, and traces only the server it starts as its child. In a Docker container that works without
/// extra capabilities: the default seccomp profile allows ptrace on Linux 4.8 or later, and the default AppArmor
/// profile allows it between processes of the same container. Where ptrace is forbidden, strace exits at once and
/// the test fails with its message.
@Suite struct ServerdDurabilityTests {
    @Test func acknowledgedStateIsDurable() async throws {
        let traced = try TracedServerd(updateLimit: 3)
        var keepFiles = false
        defer { if !keepFiles { traced.remove() } }
        var scenario = try Scenario(traced)
        try await scenario.run()
        let calls = try traced.stopAndReadCalls()

        #expect(calls.contains { $0.kind == .sync }, "strace recorded no fsync: \(calls.count) calls")
        #expect(scenario.promises.count > 20)
        let violations = DurabilityCheck.violations(of: scenario.promises, in: calls)
        if !violations.isEmpty { keepFiles = true }
        #expect(
            violations == [],
            "strace output kept in \(traced.directory.path)/trace:\n\(violations.joined(separator: "\n"))")
    }
}

/// The requests of the test, which record for each reply the files it promises.
private struct Scenario {
    let traced: TracedServerd
    let workers: [DCFWorker]
    var promises: [DurabilityPromise] = []

    init(_ traced: TracedServerd) throws {
        self.traced = traced
        workers = try traced.workerKeyFiles.enumerated().map { index, keyFile in
            var configuration = DCFWorkerConfiguration(
                serverURL: URL(string: traced.server.url)!, trustedCAFile: traced.server.caFile, privateKeyFile: keyFile)
            // Worker 1 compresses its updates, so the server inflates each into a payload file of its own, which it
            // flushes and renames into the round in place of the received body.
            if index == 1 { configuration.uploadCompression = .deflate }
            return try DCFWorker(
                configuration: configuration, callbacks: .idle,
                logger: Logger(component: "durability-worker-\(index)", sink: .standardError(level: .warning)))
        }
    }

    mutating func run() async throws {
        for index in 0..<2 {
            try await workers[index].registerWorker()
            promiseRegistry("registration of worker \(index)")
        }
        try admin("POST", DCFRoute.adminWorkersPath, AdminAddWorkerRequest(publicKey: workers[2].publicKeyHex, registered: false))
        promiseRegistry("admin add of worker 2")
        try await workers[2].registerWorker()
        promiseRegistry("registration of worker 2")

        // Round from the initial version: worker 0 replaces its update, the third update closes the round.
        var version = try await download(worker: 0)
        try await send(worker: 0, from: version, value: 1)
        try await send(worker: 0, from: version, value: 2)
        try await send(worker: 1, from: version, value: 3)
        try await send(worker: 2, from: version, value: 4)
        for index in 0..<3 { version = try await download(worker: index) }

        let workerPath = DCFRoute.adminWorkersPath + "/" + workers[1].workerID.rawValue
        try admin("PUT", workerPath, AdminSetRegistrationRequest(registered: false))
        promiseRegistry("admin disable of worker 1")
        try admin("PUT", workerPath, AdminSetRegistrationRequest(registered: true))
        promiseRegistry("admin enable of worker 1")

        for index in 0..<3 { try await send(worker: index, from: version, value: Float(5 + index)) }
        for index in 0..<3 { version = try await download(worker: index) }

        try admin("DELETE", DCFRoute.adminWorkersPath + "/" + workers[2].workerID.rawValue, nil as AdminAddWorkerRequest?)
        promiseRegistry("admin remove of worker 2")
        // The last round stays open.
        try await send(worker: 0, from: version, value: 9)
    }

    /// Promises the registry's files, as a registration or admin reply does.
    private mutating func promiseRegistry(_ reply: String) {
        let receivedAt = TracedServerd.now()
        for name in ["registry.sqlite", "registry.sqlite-wal"] {
            promises.append(DurabilityPromise(path: traced.stateDirectory + "/" + name, receivedAt: receivedAt, reply: reply))
        }
    }

    private func admin<Body: Encodable>(_ method: String, _ path: String, _ body: Body?) throws {
        let response = try traced.server.request(method, path, body: try body.map { try JSONEncoder().encode($0) }, admin: true)
        guard response.statusCode == 200 else {
            throw ServerdTestError(
                "\(method) \(path) returned \(response.statusCode): \(String(decoding: response.body, as: UTF8.self))")
        }
    }

    /// Downloads the global model, promises its file and returns its version.
    private mutating func download(worker index: Int) async throws -> UInt64 {
        let model = try await workers[index].globalModel()
        let receivedAt = TracedServerd.now()
        promises.append(DurabilityPromise(
            path: traced.stateDirectory + "/models/v\(model.version.rawValue).safetensors", receivedAt: receivedAt,
            reply: "download of version \(model.version.rawValue) by worker \(index)"))
        return model.version.rawValue
    }

    /// Sends an update whose every value is `value` and promises the file that keeps it.
    private mutating func send(worker index: Int, from version: UInt64, value: Float) async throws {
        let reply = try await workers[index].sendModelUpdate(try Self.update(from: version, value: value))
        let receivedAt = TracedServerd.now()
        let text = "update of worker \(index): \(reply.message)"
        guard reply.accepted, let round = AcknowledgingWorkers.round(in: reply.message) else {
            throw ServerdTestError("\(text) names no round it was accepted into")
        }
        let path: String
        if let range = reply.message.range(of: #"now version \d+"#, options: .regularExpression) {
            path = "/models/v\(reply.message[range].split(separator: " ").last ?? "").safetensors"
        } else {
            path = "/rounds/from-v\(round)/\(workers[index].workerID.rawValue).safetensors"
        }
        promises.append(DurabilityPromise(path: traced.stateDirectory + path, receivedAt: receivedAt, reply: text))
    }

    /// Returns an update with the layout of `ServerdFixture.initialModel()`.
    static func update(from version: UInt64, value: Float) throws -> Data {
        let metadata = UpdateMetadata(numExamples: 10, baseVersion: ModelVersion(version), metrics: ["loss": 0.5])
        var writer = SafeTensorsWriter(metadata: metadata.safetensorsMetadata)
        try writer.add(name: "layer.weight", shape: [2, 2], values: [Float](repeating: value, count: 4))
        try writer.add(name: "layer.bias", shape: [2], values: [Float](repeating: value, count: 2))
        return writer.serialize()
    }
}
