// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import Foundation
import Testing

/// A drain responds to the parked long polls and parks no new one, but still handles the requests in flight.
struct DrainHandlingTests {
    @Test func drainAnswersPollsAndKeepsHandlingUpdates() throws {
        let worker = try TestWorker()
        let harness = try ServerHarness(admission: { directory in
            .safe(keyList: KeyListFile(url: try directory.file("keys.txt", contents: worker.publicKeyHex + "\n")))
        })
        _ = try harness.register(worker)
        let wait = harness.park(
            try worker.signed(
                "GET", DCFRoute.modelWaitTarget(knownVersion: 1), nonce: try harness.nonce(for: worker), connectionID: 1))
        #expect(wait.response == nil)

        harness.server.beginDrain()
        let answered = try #require(wait.response)
        #expect(answered.status == 503)

        // An update whose body was still arriving when the drain began is stored and gets its response.
        let update = try #require(
            harness.send(
                try worker.signed(
                    "POST", DCFRoute.updatePath, nonce: try harness.nonce(for: worker), body: Data("weights".utf8),
                    baseVersion: "1")))
        #expect(update.status == 200, "\(String(decoding: update.body, as: UTF8.self))")
        #expect(harness.strategy.lastUpdate?.payload == Data("weights".utf8))

        let late = harness.park(
            try worker.signed(
                "GET", DCFRoute.modelWaitTarget(knownVersion: 2), nonce: try harness.nonce(for: worker), connectionID: 2))
        #expect(late.response?.status == 503, "a poll sent during the drain must not park")
        #expect(harness.server.parkedLongPollCount == 0)
    }
}
