// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFTransport
import Dispatch
import Foundation
import Synchronization
import Testing

@testable import DCFServer

/// At most `maximumConcurrentUploads` update bodies are received at once; the rest wait in arrival order.
@Suite struct UploadAdmissionTests {
    /// The order in which uploads were granted.
    final class Grants: Sendable {
        let order = Mutex<[Int]>([])

        func grant(_ number: Int) -> @Sendable () -> Void {
            { [self] in order.withLock { $0.append(number) } }
        }

        var granted: [Int] { order.withLock { $0 } }
    }

    @Test func placesFollowArrivalOrder() {
        let admission = UploadAdmission(limit: 2)
        let grants = Grants()
        let slots = (0..<5).map { admission.enter(grants.grant($0)) }
        #expect(grants.granted == [0, 1])
        #expect(admission.activeCount == 2)
        #expect(admission.waitingCount == 3)
        slots[1].release()
        #expect(grants.granted == [0, 1, 2])
        slots[0].release()
        slots[2].release()
        #expect(grants.granted == [0, 1, 2, 3, 4])
        #expect(admission.waitingCount == 0)
        slots[3].release()
        slots[4].release()
        #expect(admission.activeCount == 0)
        #expect(admission.admittedTotal == 5)
    }

    @Test func endedWaiterLeavesQueue() {
        let admission = UploadAdmission(limit: 1)
        let grants = Grants()
        let first = admission.enter(grants.grant(0))
        let withdrawn = admission.enter(grants.grant(1))
        let next = admission.enter(grants.grant(2))
        withdrawn.release()
        withdrawn.release()
        #expect(admission.waitingCount == 1)
        first.release()
        #expect(grants.granted == [0, 2])
        #expect(admission.activeCount == 1)
        next.release()
        #expect(admission.activeCount == 0)
    }

    @Test func rejectingWaitersKeepsActiveUploads() {
        let admission = UploadAdmission(limit: 1)
        let grants = Grants()
        let rejections = Grants()
        let active = admission.enter(grants.grant(0), reject: rejections.grant(0))
        let waiting = (1...3).map { admission.enter(grants.grant($0), reject: rejections.grant($0)) }
        admission.rejectWaiting()
        #expect(rejections.granted == [1, 2, 3])
        #expect(admission.waitingCount == 0)
        let late = admission.enter(grants.grant(4), reject: rejections.grant(4))
        #expect(rejections.granted == [1, 2, 3, 4])
        for slot in waiting + [late] { slot.release() }
        #expect(admission.activeCount == 1)
        active.release()
        #expect(admission.activeCount == 0)
        #expect(grants.granted == [0])
        // With a place free, an upload is still admitted during the drain.
        let after = admission.enter(grants.grant(5), reject: rejections.grant(5))
        #expect(grants.granted == [0, 5])
        after.release()
        #expect(admission.activeCount == 0)
    }

    @Test func longQueueKeepsOrder() {
        let admission = UploadAdmission(limit: 1)
        let grants = Grants()
        var slots = [admission.enter(grants.grant(0))]
        for number in 1...5000 { slots.append(admission.enter(grants.grant(number))) }
        for number in stride(from: 1, through: 5000, by: 2) { slots[number].release() }
        for number in stride(from: 0, through: 5000, by: 2) { slots[number].release() }
        #expect(grants.granted == [0] + Array(stride(from: 2, through: 5000, by: 2)))
        #expect(admission.activeCount == 0)
        #expect(admission.waitingCount == 0)
    }

    /// With one place, a second worker's upload waits, unread, while the first is held mid-body, then completes.
    /// Both nonces would expire meanwhile, but the uploads hold them.
    @Test func waitingUploadKeepsItsNonce() async throws {
        try await HTTPHarness.run(configure: {
            $0.maximumConcurrentUploads = 1
            $0.nonceLifetime = .seconds(5)
        }) { harness in
            let first = try TestWorker()
            let second = try TestWorker()
            try await harness.addWorker(first)
            try await harness.addWorker(second)
            let payload = Data(repeating: 5, count: 512 * 1024)
            let release = DispatchSemaphore(value: 0)
            defer { release.signal() }
            let firstResponse = try await harness.stalledUpload(first, payload: payload, release: release)
            #expect(await harness.waitFor { !harness.spoolFiles.isEmpty })
            // The second update builds on the version the first one publishes, so it succeeds only after it.
            let secondRequest = try second.signed(
                "POST", DCFRoute.updatePath, nonce: try await harness.nonce(for: second), body: payload,
                baseVersion: "2")
            let secondClient = try HTTPClient(
                host: "127.0.0.1", port: harness.port,
                configuration: HTTPClientConfiguration(
                    transport: .tls(.client(trustedCAFile: try HTTPHarness.certificates.get().ca.certificateFile))))
            let secondResponse = Task {
                try await withCheckedThrowingContinuation { continuation in
                    DispatchQueue.global().async {
                        continuation.resume(with: Result {
                            try secondClient.execute(
                                HTTPClientRequest(
                                    method: "POST", path: DCFRoute.updatePath,
                                    headers: HTTPHeaders(secondRequest.headers.map { ($0.name, $0.value) }),
                                    body: .data(payload)))
                        })
                    }
                }
            }
            // Longer than the nonce lifetime; the second upload's body stays unread meanwhile.
            try await Task.sleep(for: .seconds(6))
            #expect(harness.spoolFiles.count == 1)
            #expect(harness.strategy.updateCount == 0)
            #expect(harness.server.uploadAdmission.activeCount == 1)
            #expect(harness.server.uploadAdmission.waitingCount == 1)
            release.signal()
            let firstResult = try await firstResponse.value
            #expect(firstResult.statusCode == 200, "\(firstResult.text)")
            let secondResult = try await secondResponse.value
            #expect(secondResult.statusCode == 200, "\(secondResult.text)")
            #expect(harness.strategy.updateCount == 2)
            #expect(await harness.waitFor { harness.server.uploadAdmission.activeCount == 0 })
        }
    }

    /// A drain rejects the uploads waiting for their turn with 503 at once. The one receiving its body completes.
    @Test func drainRejectsWaitingUploads() async throws {
        try await HTTPHarness.run(configure: { $0.maximumConcurrentUploads = 1 }) { harness in
            let active = try TestWorker()
            let waiting = try TestWorker()
            try await harness.addWorker(active)
            try await harness.addWorker(waiting)
            let payload = Data(repeating: 7, count: 512 * 1024)
            let release = DispatchSemaphore(value: 0)
            defer { release.signal() }
            let activeResponse = try await harness.stalledUpload(active, payload: payload, release: release)
            #expect(await harness.waitFor { !harness.spoolFiles.isEmpty })
            let waitingRequest = try waiting.signed(
                "POST", DCFRoute.updatePath, nonce: try await harness.nonce(for: waiting), body: payload,
                baseVersion: "1")
            let waitingResponse = Task { try await harness.send(waitingRequest, idleTimeout: .seconds(30)) }
            #expect(await harness.waitFor { harness.server.uploadAdmission.waitingCount == 1 })
            harness.server.beginDrain()
            let rejected = try await waitingResponse.value
            #expect(rejected.statusCode == 503, "\(rejected.text)")
            #expect(rejected.text.contains("shutting down"), "\(rejected.text)")
            release.signal()
            let completed = try await activeResponse.value
            #expect(completed.statusCode == 200, "\(completed.text)")
            #expect(harness.strategy.updateCount == 1)
        }
    }

    /// With another upload waiting, a stalled body loses its place after a pace window; the waiting one goes on.
    @Test func stalledUploadLosesItsPlace() async throws {
        try await HTTPHarness.run(configure: {
            $0.maximumConcurrentUploads = 1
            $0.minimumUploadRate = 1024
            $0.uploadPaceWindow = .milliseconds(500)
        }) { harness in
            let slow = try TestWorker()
            let waiting = try TestWorker()
            try await harness.addWorker(slow)
            try await harness.addWorker(waiting)
            let payload = Data(repeating: 7, count: 512 * 1024)
            let release = DispatchSemaphore(value: 0)
            defer { release.signal() }
            let slowResponse = try await harness.stalledUpload(slow, payload: payload, release: release)
            #expect(await harness.waitFor { !harness.spoolFiles.isEmpty })
            let waitingRequest = try waiting.signed(
                "POST", DCFRoute.updatePath, nonce: try await harness.nonce(for: waiting), body: payload,
                baseVersion: "1")
            let waitingResponse = try await harness.send(waitingRequest, idleTimeout: .seconds(30))
            #expect(waitingResponse.statusCode == 200, "\(waitingResponse.text)")
            release.signal()
            let slowResult = try await slowResponse.value
            #expect(slowResult.statusCode == 503, "\(slowResult.text)")
            #expect(slowResult.code == .unavailable)
            #expect(slowResult.text.contains("min_upload_rate"), "\(slowResult.text)")
            #expect(harness.strategy.updateCount == 1)
            #expect(await harness.waitFor { harness.server.uploadAdmission.activeCount == 0 })
        }
    }

    /// A body below the minimum rate keeps its place while bytes the server has not read wait in its socket:
    /// the server is behind, not the client. The rate here is one no upload reaches. The server's reading is
    /// held after the first chunk, so once bytes wait in the socket they stay there through every pace check,
    /// however slowly the client runs.
    @Test func bodyWaitingOnServerKeepsPlace() async throws {
        try await HTTPHarness.run(configure: {
            $0.maximumConcurrentUploads = 1
            $0.minimumUploadRate = 1 << 40
            $0.uploadPaceWindow = .milliseconds(200)
        }) { harness in
            let first = try TestWorker()
            let second = try TestWorker()
            try await harness.addWorker(first)
            try await harness.addWorker(second)
            let heldDemands = Mutex<[HTTPBodyDemand]>([])
            harness.server.uploadAdmission.holdBodyChunks { demand in heldDemands.withLock { $0.append(demand) } }
            // Larger than the socket buffers, so the client still has bytes to send after the first chunk.
            let large = Data(count: 16 << 20)
            let firstRequest = try first.signed(
                "POST", DCFRoute.updatePath, nonce: try await harness.nonce(for: first), body: large, baseVersion: "1")
            let firstResponse = Task { try await harness.send(firstRequest, idleTimeout: .seconds(60)) }
            #expect(await harness.waitFor { heldDemands.withLock { !$0.isEmpty } })
            let demand = try #require(heldDemands.withLock { $0.first })
            #expect(await harness.waitFor { Self.hasUnreadInput(demand) }, "no body bytes reached the server's socket")

            let secondRequest = try second.signed(
                "POST", DCFRoute.updatePath, nonce: try await harness.nonce(for: second), body: Data([1, 2, 3]),
                baseVersion: "1")
            let secondResponse = Task { try await harness.send(secondRequest, idleTimeout: .seconds(60)) }
            #expect(await harness.waitFor { harness.server.uploadAdmission.waitingCount == 1 })
            // Each pace check now finds an upload waiting and a body below the rate, with bytes unread.
            #expect(await harness.waitFor { harness.server.uploadAdmission.slowUploadsKept > 0 })
            harness.server.uploadAdmission.holdBodyChunks(nil)
            for demand in heldDemands.withLock({ $0 }) { demand.requestMore() }

            let firstResult = try await firstResponse.value
            #expect(firstResult.statusCode == 200, "\(firstResult.text)")
            // The first update made version 2, so the second, based on version 1, may be rejected as stale. It
            // must not get the pace check's 503.
            let secondResult = try await secondResponse.value
            #expect(secondResult.code != .unavailable, "\(secondResult.text)")
        }
    }

    /// Asks the transport whether bytes of the demand's body wait unread, and returns its reply.
    private static func hasUnreadInput(_ demand: HTTPBodyDemand) -> Bool {
        let answer = DispatchSemaphore(value: 0)
        let unread = Atomic(false)
        demand.checkUnreadInput { value in
            unread.store(value, ordering: .relaxed)
            answer.signal()
        }
        answer.wait()
        return unread.load(ordering: .relaxed)
    }

    /// Without uploads waiting, a stalled body keeps its place past several pace windows and then completes.
    @Test func stalledUploadKeepsPlaceWhenAlone() async throws {
        try await HTTPHarness.run(configure: {
            $0.maximumConcurrentUploads = 1
            $0.minimumUploadRate = 1024
            $0.uploadPaceWindow = .milliseconds(300)
        }) { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let release = DispatchSemaphore(value: 0)
            let response = try await harness.stalledUpload(
                worker, payload: Data(repeating: 7, count: 512 * 1024), release: release)
            #expect(await harness.waitFor { !harness.spoolFiles.isEmpty })
            try await Task.sleep(for: .seconds(2))
            release.signal()
            let result = try await response.value
            #expect(result.statusCode == 200, "\(result.text)")
            #expect(harness.strategy.updateCount == 1)
        }
    }
}
