// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFSupport
import Dispatch
import Foundation
import Synchronization
import Testing

/// The strategy hears of a worker's registration changes in the order the registry made them.
@Suite struct RegistrationOrderTests {
    /// Records registration callbacks in order; the first `registerWorker` blocks until `release` is signalled.
    final class OrderStrategy: DCFServerCallbacks {
        let events = Mutex<[String]>([])
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        private let blocked = Atomic(false)

        func registerWorker(_ workerID: WorkerID) {
            if !blocked.exchange(true, ordering: .acquiringAndReleasing) {
                entered.signal()
                _ = release.wait(timeout: .now() + 20)
            }
            events.withLock { $0.append("registered") }
        }

        func unregisterWorker(_ workerID: WorkerID) {
            events.withLock { $0.append("unregistered") }
        }

        func returnGlobalModel() -> GlobalModel? { GlobalModel(version: 1, bytes: Data("v1".utf8)) }
        func isGlobalModelMostRecent(_ version: ModelVersion) -> Bool { version == 1 }
        func receiveWorkerUpdate(_ workerID: WorkerID, _ update: WorkerUpdate) throws -> String { "ignored" }
    }

    static let authorization = "Basic " + Data("admin:pw".utf8).base64EncodedString()

    private static func admin(_ method: String, _ target: String, _ body: some Encodable) throws -> ServerRequest {
        ServerRequest(
            method: method, target: target, headers: [("Authorization", authorization)],
            body: try .memory(try JSONEncoder().encode(body)))
    }

    /// An admin unregisters a worker while the callback of its registration is still running: the strategy must
    /// hear "registered" before "unregistered", as the registry made the changes.
    @Test func adminChangeWaitsForCallbacks() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let strategy = OrderStrategy()
        let server = try DCFServer(
            configuration: DCFServerConfiguration(
                stateDirectory: directory.url.appendingPathComponent("state"), admission: .safe(keyList: nil),
                adminCredentials: try AdminCredentials(username: "admin", password: "pw")),
            callbacks: strategy, logger: Logger(component: "test", sink: LogSink(level: .error) { _ in }))
        server.start()
        defer { server.stop() }
        let worker = try TestWorker()
        let add = try Self.admin(
            "POST", "/admin/workers", AdminAddWorkerRequest(publicKey: worker.publicKeyHex, registered: false))
        server.handle(add) { _ in }

        let target = "/admin/workers/\(worker.id.rawValue)"
        let registered = Thread {
            server.handle(try! Self.admin("PUT", target, AdminSetRegistrationRequest(registered: true))) { _ in }
        }
        registered.start()
        #expect(strategy.entered.wait(timeout: .now() + 20) == .success)
        let unregisterDone = DispatchSemaphore(value: 0)
        let unregistered = Thread {
            server.handle(try! Self.admin("PUT", target, AdminSetRegistrationRequest(registered: false))) { _ in }
            unregisterDone.signal()
        }
        unregistered.start()
        // Give the second change time to overtake the first one's callback, which it must not do.
        try await Task.sleep(for: .milliseconds(300))
        strategy.release.signal()
        #expect(unregisterDone.wait(timeout: .now() + 20) == .success)
        #expect(strategy.events.withLock { $0 } == ["registered", "unregistered"])
        #expect(server.registry.record(for: worker.id)?.isRegistered == false)
    }
}
