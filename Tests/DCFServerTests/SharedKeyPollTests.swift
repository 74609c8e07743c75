// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Testing
@testable import DCFServer

/// Two agents started with one key end each other's long polls in turn. The server names both addresses.
@Suite struct SharedKeyPollTests {
    private func harness(_ worker: TestWorker) throws -> ServerHarness {
        try ServerHarness(admission: { directory in
            .safe(keyList: KeyListFile(url: try directory.file("keys.txt", contents: worker.publicKeyHex + "\n")))
        })
    }

    private func poll(_ harness: ServerHarness, _ worker: TestWorker, from address: String?, connection: UInt64)
        throws -> ResponseBox
    {
        var request = try worker.signed(
            "GET", DCFRoute.modelWaitTarget(knownVersion: 1), nonce: try harness.nonce(for: worker),
            connectionID: connection)
        request.peerAddress = address
        return harness.park(request)
    }

    @Test func pollsFromTwoAddressesAreLogged() throws {
        let worker = try TestWorker()
        let harness = try harness(worker)
        _ = try harness.register(worker)
        let first = try poll(harness, worker, from: "192.0.2.1", connection: 1)
        #expect(first.response == nil)
        let second = try poll(harness, worker, from: "192.0.2.2", connection: 2)
        #expect(first.response?.status == 200)
        #expect(second.response == nil)
        #expect(harness.logged("two client addresses poll as one worker"))
        #expect(harness.logged("other_address=192.0.2.1"))
        #expect(harness.logged("address=192.0.2.2"))
    }

    @Test func pollsFromOneAddressAreNotLogged() throws {
        let worker = try TestWorker()
        let harness = try harness(worker)
        _ = try harness.register(worker)
        _ = try poll(harness, worker, from: "192.0.2.1", connection: 1)
        _ = try poll(harness, worker, from: "192.0.2.1", connection: 2)
        _ = try poll(harness, worker, from: nil, connection: 3)
        #expect(!harness.logged("two client addresses poll as one worker"))
    }

    @Test func warningRepeatsOnlyAfterInterval() {
        let warnings = WarningInterval(interval: .seconds(300), maximumWorkers: 2)
        let start = ContinuousClock.now
        let worker = WorkerID(String(repeating: "ab", count: 32))!
        #expect(warnings.shouldWarn(about: worker, now: start))
        #expect(!warnings.shouldWarn(about: worker, now: start + .seconds(299)))
        #expect(warnings.shouldWarn(about: worker, now: start + .seconds(300)))
        // A full table forgets its oldest worker, which is then warned about again.
        let second = WorkerID(String(repeating: "cd", count: 32))!
        let third = WorkerID(String(repeating: "ef", count: 32))!
        #expect(warnings.shouldWarn(about: second, now: start + .seconds(301)))
        #expect(warnings.shouldWarn(about: third, now: start + .seconds(302)))
        #expect(warnings.shouldWarn(about: worker, now: start + .seconds(303)))
    }
}
