// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import Foundation
import Testing

/// A worker's whole round against the server: register, wait, download, update, and the next version.
@Suite struct ServerFlowTests {
    private func keyListHarness(_ worker: TestWorker) throws -> ServerHarness {
        try ServerHarness(admission: { directory in
            .safe(keyList: KeyListFile(url: try directory.file("keys.txt", contents: worker.publicKeyHex + "\n")))
        })
    }

    @Test func registerFiresCallbackOnce() throws {
        let worker = try TestWorker()
        let harness = try keyListHarness(worker)
        let first = try harness.register(worker)
        #expect(first.status == 200)
        #expect(try first.decode(RegisterResponse.self) == RegisterResponse(workerID: worker.id, registered: true))
        #expect(try harness.register(worker).status == 200)
        #expect(harness.strategy.registeredCalls == [worker.id])
    }

    @Test func roundPublishesNextVersion() throws {
        let worker = try TestWorker()
        let harness = try keyListHarness(worker)
        let registration = try harness.register(worker)
        var nonce = try #require(registration.header(DCFHeader.nextNonce))

        let wait = harness.park(
            try worker.signed("GET", DCFRoute.modelWaitTarget(knownVersion: 1), nonce: nonce, connectionID: 1))
        #expect(wait.response == nil)
        #expect(harness.server.parkedLongPollCount == 1)

        let payload = Data("trained weights".utf8)
        nonce = try harness.nonce(for: worker)
        let update = try #require(
            harness.send(try worker.signed("POST", DCFRoute.updatePath, nonce: nonce, body: payload, baseVersion: "1")))
        #expect(update.status == 200)
        #expect(try update.decode(UpdateResponse.self).accepted)
        #expect(harness.strategy.lastUpdate?.payload == payload)
        #expect(harness.strategy.lastUpdate?.baseVersion == 1)

        let woken = try #require(wait.response)
        #expect(wait.responseCount == 1)
        #expect(try woken.decode(ModelWaitResponse.self) == ModelWaitResponse(changed: true, version: 2))
        nonce = try #require(woken.header(DCFHeader.nextNonce))

        let download = try #require(harness.send(try worker.signed("GET", "/dcf/model/2", nonce: nonce)))
        #expect(download.status == 200)
        #expect(download.body == payload)
        #expect(download.header("ETag") == "\"v2\"")
        #expect(download.header(DCFHeader.modelVersion) == "2")
    }

    @Test func staleUpdateIsRejected() throws {
        let worker = try TestWorker()
        let harness = try keyListHarness(worker)
        _ = try harness.register(worker)
        let request = try worker.signed(
            "POST", DCFRoute.updatePath, nonce: try harness.nonce(for: worker), body: Data("w".utf8), baseVersion: "0")
        let response = try #require(harness.send(request))
        #expect(response.code == .updateRejected)
        #expect(response.status == 422)
        #expect(response.header(DCFHeader.nextNonce) != nil)
        #expect(harness.strategy.updateCount == 0)
    }

    @Test func holdEndsWithNoChange() throws {
        let worker = try TestWorker()
        let harness = try keyListHarness(worker)
        _ = try harness.register(worker)
        let wait = harness.park(
            try worker.signed("GET", DCFRoute.modelWaitTarget(knownVersion: 1), nonce: try harness.nonce(for: worker)))
        harness.clock.advance(by: .seconds(49))
        harness.server.expireLongPolls()
        #expect(wait.response == nil)
        harness.clock.advance(by: .seconds(1))
        harness.server.expireLongPolls()
        let response = try #require(wait.response)
        #expect(try response.decode(ModelWaitResponse.self) == ModelWaitResponse(changed: false, version: 1))
        #expect(response.header(DCFHeader.nextNonce) != nil)
    }

    @Test func secondPollReplacesFirst() throws {
        let worker = try TestWorker()
        let harness = try keyListHarness(worker)
        _ = try harness.register(worker)
        let target = DCFRoute.modelWaitTarget(knownVersion: 1)
        let first = harness.park(try worker.signed("GET", target, nonce: try harness.nonce(for: worker), connectionID: 1))
        let second = harness.park(try worker.signed("GET", target, nonce: try harness.nonce(for: worker), connectionID: 2))
        #expect(try first.response?.decode(ModelWaitResponse.self).changed == false)
        #expect(second.response == nil)
        harness.strategy.publish(GlobalModel(version: 5, bytes: Data("v5".utf8)))
        #expect(try second.response?.decode(ModelWaitResponse.self) == ModelWaitResponse(changed: true, version: 5))
        #expect(first.responseCount == 1)
    }

    @Test func closedConnectionIsNeverAnswered() throws {
        let worker = try TestWorker()
        let harness = try keyListHarness(worker)
        _ = try harness.register(worker)
        let wait = harness.park(
            try worker.signed(
                "GET", DCFRoute.modelWaitTarget(knownVersion: 1), nonce: try harness.nonce(for: worker), connectionID: 9))
        harness.server.connectionClosed(9)
        harness.strategy.publish(GlobalModel(version: 2, bytes: Data()))
        #expect(wait.responseCount == 0)
        #expect(harness.server.parkedLongPollCount == 0)
    }

    @Test func unnotifiedPublishIsNoticedAfterPause() async throws {
        let worker = try TestWorker()
        let harness = try keyListHarness(worker)
        _ = try harness.register(worker)
        harness.strategy.publish(GlobalModel(version: 2, bytes: Data("v2".utf8)), notify: false)
        let wait = harness.park(
            try worker.signed("GET", DCFRoute.modelWaitTarget(knownVersion: 1), nonce: try harness.nonce(for: worker)))
        // A strategy that notifies a moment after publishing is given a second; this one never notifies.
        var response = wait.response
        for _ in 0..<1000 where response == nil {
            try await Task.sleep(for: .milliseconds(10))
            response = wait.response
        }
        #expect(try response?.decode(ModelWaitResponse.self) == ModelWaitResponse(changed: true, version: 2))
        #expect(harness.logged("strategy has a newer model than the server was told about"))
    }

    @Test func unsafeModeRegistersUnderFreshID() throws {
        let worker = try TestWorker()
        let harness = try ServerHarness(admission: { _ in .unsafe })
        #expect(harness.logged("UNSAFE MODE"))
        let response = try harness.register(worker, publicKeyInBody: true)
        let registration = try response.decode(RegisterResponse.self)
        #expect(registration.workerID != worker.id)
        var registered = worker
        registered.id = registration.workerID
        let nonce = try #require(response.header(DCFHeader.nextNonce))
        let download = try #require(harness.send(try registered.signed("GET", DCFRoute.modelPath, nonce: nonce)))
        #expect(download.status == 200)
        #expect(harness.strategy.registeredCalls == [registration.workerID])
    }

    @Test func notModifiedForMatchingETag() throws {
        let worker = try TestWorker()
        let harness = try keyListHarness(worker)
        let nonce = try #require(try harness.register(worker).header(DCFHeader.nextNonce))
        let request = try worker.signed("GET", "/dcf/model/1", nonce: nonce, extraHeaders: [("If-None-Match", "\"v1\"")])
        let response = try #require(harness.send(request))
        #expect(response.status == 304)
        #expect(response.body.isEmpty)
    }

    @Test func stopAnswersParkedPolls() throws {
        let worker = try TestWorker()
        let harness = try keyListHarness(worker)
        _ = try harness.register(worker)
        let wait = harness.park(
            try worker.signed("GET", DCFRoute.modelWaitTarget(knownVersion: 1), nonce: try harness.nonce(for: worker)))
        harness.server.stop()
        #expect(wait.response?.code == .unavailable)
        #expect(harness.send(ServerRequest(method: "GET", target: "/healthz"))?.code == .unavailable)
    }
}
