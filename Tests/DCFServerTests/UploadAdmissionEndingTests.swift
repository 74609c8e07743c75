// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFTransport
import Foundation
import Synchronization
import Testing

@testable import DCFServer

/// Every way an admitted or waiting upload can end gives its admission place back, and leaves its nonce usable
/// again only when the upload held it. Raw requests over plain TCP, so each test picks when bytes go out.
@Suite struct UploadAdmissionEndingTests {
    static let payload = Data((0..<256 * 1024).map { UInt8(truncatingIfNeeded: $0 &* 13) })

    /// Returns an update of `payload` signed by `worker` with a fresh nonce.
    private static func signedUpdate(
        _ harness: PlainUploadHarness, _ worker: TestWorker, baseVersion: String, payload: Data = payload
    ) async throws -> ServerRequest {
        try worker.signed(
            "POST", DCFRoute.updatePath, nonce: try await harness.nonce(for: worker), body: payload,
            baseVersion: baseVersion)
    }

    /// Opens a connection that sends `request`'s head with `Expect: 100-continue`, gets the 100 and sends the first
    /// half of the body, so the upload keeps its place until the test sends the rest.
    private static func startHalfUpload(_ harness: PlainUploadHarness, _ request: ServerRequest) throws -> RawConnection {
        let connection = try RawConnection(port: harness.port)
        try connection.send(PlainUploadHarness.updateHead(request, bodyCount: payload.count))
        let interim = try connection.readResponse()
        #expect(interim.status == 100)
        try connection.send(payload.prefix(payload.count / 2))
        return connection
    }

    private static func sendRest(_ connection: RawConnection) throws -> RawConnection.Response {
        try connection.send(payload.suffix(from: payload.count / 2))
        return try connection.readResponse()
    }

    @Test func waitingClientLeavingFreesTurnAndNonce() async throws {
        try await PlainUploadHarness.run(configure: { $0.maximumConcurrentUploads = 1 }) { harness in
            let first = try TestWorker()
            let second = try TestWorker()
            try await harness.addWorker(first)
            try await harness.addWorker(second)
            let firstRequest = try await Self.signedUpdate(harness, first, baseVersion: "1")
            let firstConnection = try Self.startHalfUpload(harness, firstRequest)
            #expect(await harness.waitFor { harness.admission == (1, 0) })
            let secondRequest = try await Self.signedUpdate(harness, second, baseVersion: "2")
            let secondConnection = try RawConnection(port: harness.port)
            try secondConnection.send(PlainUploadHarness.updateHead(secondRequest, bodyCount: Self.payload.count))
            #expect(await harness.waitFor { harness.admission == (1, 1) })
            #expect(!secondConnection.hasInput(within: 200), "a waiting upload got a response")
            secondConnection.close()
            #expect(await harness.waitFor { harness.admission == (1, 0) })
            let firstResponse = try Self.sendRest(firstConnection)
            #expect(firstResponse.status == 200, "\(firstResponse.text)")
            #expect(await harness.waitFor { harness.admission == (0, 0) })
            // The second upload held its nonce and gave it back when its client left, so the same bytes go through.
            let again = try await harness.send(secondRequest)
            #expect(again.statusCode == 200, "\(again.text)")
            #expect(harness.strategy.updateCount == 2)
            #expect(await harness.waitFor { harness.admission == (0, 0) })
        }
    }

    @Test func midBodyDisconnectFreesPlaceAndNonce() async throws {
        try await PlainUploadHarness.run(configure: { $0.maximumConcurrentUploads = 1 }) { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let request = try await Self.signedUpdate(harness, worker, baseVersion: "1")
            let connection = try Self.startHalfUpload(harness, request)
            #expect(await harness.waitFor { harness.admission == (1, 0) })
            connection.close()
            #expect(await harness.waitFor { harness.admission == (0, 0) })
            #expect(await harness.waitFor { harness.spoolFiles.isEmpty })
            let again = try await harness.send(request)
            #expect(again.statusCode == 200, "\(again.text)")
        }
    }

    /// A copy of an upload's head, under the same nonce, that is rejected while the upload runs must not end the
    /// upload's hold on that nonce: the nonce would then expire before the body arrives.
    @Test(arguments: [false, true])
    func rejectedCopyKeepsNonceHold(forgedSignature: Bool) async throws {
        let clock = ManualClock()
        try await PlainUploadHarness.run(clock: clock) { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let request = try await Self.signedUpdate(harness, worker, baseVersion: "1")
            let connection = try Self.startHalfUpload(harness, request)
            #expect(await harness.waitFor { harness.admission == (1, 0) })
            var copy = request
            if forgedSignature {
                copy = copy.replacingHeader(DCFHeader.signature, with: String(repeating: "ab", count: 64))
            }
            let copyConnection = try RawConnection(port: harness.port)
            try copyConnection.send(PlainUploadHarness.updateHead(copy, bodyCount: Self.payload.count))
            let rejected = try copyConnection.readResponse()
            #expect(rejected.code == (forgedSignature ? .badSignature : .conflict), "\(rejected.status) \(rejected.text)")
            // The rejected copy ends just after its response; past that, only the hold keeps the nonce valid.
            try await Task.sleep(for: .milliseconds(500))
            clock.advance(by: harness.server.configuration.nonceLifetime * 2)
            let response = try Self.sendRest(connection)
            #expect(response.status == 200, "\(response.text)")
            #expect(await harness.waitFor { harness.admission == (0, 0) })
        }
    }

    /// A head rejected before its body is read gets its error as the first response: a `100 Continue` ahead of it
    /// would make the client send the whole body, outside any admission place, only for it to be dropped.
    @Test(arguments: ["unknown nonce", "declared length over the limit"])
    func rejectedHeadGetsNoContinue(rejection: String) async throws {
        try await PlainUploadHarness.run(configure: { $0.maximumUpdateBodyBytes = 1 << 20 }) { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let request = try worker.signed(
                "POST", DCFRoute.updatePath,
                nonce: rejection == "unknown nonce" ? String(repeating: "0", count: 32) : try await harness.nonce(for: worker),
                body: Self.payload, baseVersion: "1")
            let declared = rejection == "unknown nonce" ? Self.payload.count : 2 << 20
            let connection = try RawConnection(port: harness.port)
            try connection.send(PlainUploadHarness.updateHead(request, bodyCount: declared))
            let first = try connection.readResponse()
            #expect(first.status != 100, "the server requested the body of a request it rejected")
            let final = first.status == 100 ? try connection.readResponse() : first
            #expect(final.code == (rejection == "unknown nonce" ? .replayedRequest : .bodyTooLarge), "\(final.text)")
            #expect(try connection.receiveUntilClosed().isEmpty)
            #expect(harness.admission == (0, 0))
        }
    }

    @Test func digestMismatchFreesPlace() async throws {
        try await PlainUploadHarness.run(configure: { $0.maximumConcurrentUploads = 1 }) { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let request = try await Self.signedUpdate(harness, worker, baseVersion: "1")
            let connection = try RawConnection(port: harness.port)
            try connection.send(PlainUploadHarness.updateHead(request, bodyCount: Self.payload.count))
            #expect(try connection.readResponse().status == 100)
            var altered = Array(Self.payload)
            altered[1000] ^= 1
            try connection.send(altered)
            let response = try connection.readResponse()
            #expect(response.code == .badSignature, "\(response.text)")
            #expect(await harness.waitFor { harness.admission == (0, 0) })
            #expect(harness.strategy.updateCount == 0)
            let next = try await harness.send(try await Self.signedUpdate(harness, worker, baseVersion: "1"))
            #expect(next.statusCode == 200, "\(next.text)")
        }
    }

    @Test func chunkedBodyOverLimitFreesPlace() async throws {
        try await PlainUploadHarness.run(configure: {
            $0.maximumConcurrentUploads = 1
            $0.maximumUpdateBodyBytes = 64 * 1024
        }) { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let request = try await Self.signedUpdate(harness, worker, baseVersion: "1")
            let connection = try RawConnection(port: harness.port)
            try connection.send(PlainUploadHarness.updateHead(request, bodyCount: 0, chunked: true))
            #expect(try connection.readResponse().status == 100)
            // Chunks of 16 KiB until the server responds, because it stops reading at the limit.
            let chunk = Array("4000\r\n".utf8) + Array(Self.payload.prefix(16 * 1024)) + Array("\r\n".utf8)
            for _ in 0..<16 where !connection.hasInput(within: 0) {
                guard (try? connection.send(chunk)) != nil else { break }
            }
            let response = try connection.readResponse()
            #expect(response.code == .bodyTooLarge, "\(response.text)")
            #expect(await harness.waitFor { harness.admission == (0, 0) })
            let small = Data(repeating: 1, count: 1000)
            let next = try await harness.send(
                try await Self.signedUpdate(harness, worker, baseVersion: "1", payload: small))
            #expect(next.statusCode == 200, "\(next.text)")
        }
    }

    @Test func rejectedAndConflictingUploadsFreePlaces() async throws {
        try await PlainUploadHarness.run(configure: { $0.maximumConcurrentUploads = 1 }) { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let stale = try await harness.send(try await Self.signedUpdate(harness, worker, baseVersion: "7"))
            #expect(stale.code == .updateRejected, "\(stale.text)")
            #expect(await harness.waitFor { harness.admission == (0, 0) })
            let firstRequest = try await Self.signedUpdate(harness, worker, baseVersion: "1")
            let connection = try Self.startHalfUpload(harness, firstRequest)
            #expect(await harness.waitFor { harness.admission == (1, 0) })
            let secondRequest = try await Self.signedUpdate(harness, worker, baseVersion: "2")
            let busy = try await harness.send(secondRequest)
            #expect(busy.code == .conflict, "\(busy.text)")
            #expect(harness.admission == (1, 0))
            let first = try Self.sendRest(connection)
            #expect(first.status == 200, "\(first.text)")
            #expect(await harness.waitFor { harness.admission == (0, 0) })
            // The rejected upload never held its nonce, so it is still outstanding.
            let second = try await harness.send(secondRequest)
            #expect(second.statusCode == 200, "\(second.text)")
        }
    }

    /// The body timeout ends an admitted upload whose client goes silent, and never runs for an upload that waits
    /// for its turn, however long it waits. The server holds back the first upload after its first chunk, which
    /// also stops that upload's timeout, while the second waits longer than the timeout. The first upload's timeout
    /// starts only when the hold ends, so no outcome depends on how fast the test or the server runs.
    @Test func silentUploadTimesOutWaitingOneDoesNot() async throws {
        let bodyTimeout = Duration.seconds(2)
        try await PlainUploadHarness.run(
            configure: { $0.maximumConcurrentUploads = 1 },
            limits: {
                $0.bodyTimeout = bodyTimeout
                // Off, so the only limit on the admitted body is the silence between its bytes.
                $0.minBodyRate = 0
            }
        ) { harness in
            let first = try TestWorker()
            let second = try TestWorker()
            try await harness.addWorker(first)
            try await harness.addWorker(second)
            let heldDemands = Mutex<[HTTPBodyDemand]>([])
            harness.server.uploadAdmission.holdBodyChunks { demand in heldDemands.withLock { $0.append(demand) } }
            // Both clients send their first bytes with the head, so neither has to send anything in time later.
            let firstRequest = try await Self.signedUpdate(harness, first, baseVersion: "1")
            let silent = try RawConnection(port: harness.port)
            try silent.send(
                Array(PlainUploadHarness.updateHead(firstRequest, bodyCount: Self.payload.count).utf8)
                    + Self.payload.prefix(1024))
            #expect(await harness.waitFor { heldDemands.withLock { !$0.isEmpty } })
            let smallPayload = Data(repeating: 7, count: 1000)
            let request = try await Self.signedUpdate(harness, second, baseVersion: "1", payload: smallPayload)
            let waiting = try RawConnection(port: harness.port)
            try waiting.send(
                Array(PlainUploadHarness.updateHead(request, bodyCount: smallPayload.count).utf8) + smallPayload)
            #expect(await harness.waitFor { harness.admission == (1, 1) })
            // A sleep never ends early, so the second upload has now waited longer than the body timeout.
            try await Task.sleep(for: bodyTimeout * 2)
            #expect(!waiting.hasInput(within: 0), "a waiting upload got a response")

            harness.server.uploadAdmission.holdBodyChunks(nil)
            for demand in heldDemands.withLock({ $0 }) { demand.requestMore() }
            #expect(try silent.readResponse().status == 100)
            let timedOut = try silent.readResponse()
            #expect(timedOut.status == 408, "\(timedOut.text)")
            #expect(timedOut.text.contains("(limits.body_timeout)"), "\(timedOut.text)")
            #expect(try waiting.readResponse().status == 100)
            let response = try waiting.readResponse()
            #expect(response.status == 200, "\(response.text)")
            #expect(await harness.waitFor { harness.admission == (0, 0) })
        }
    }

    /// A request pipelined behind a waiting upload, whose body was sent without waiting for 100 Continue, gets
    /// its response after the upload's, on the same connection.
    @Test func pipelinedRequestAfterWaitingUpload() async throws {
        try await PlainUploadHarness.run(configure: { $0.maximumConcurrentUploads = 1 }) { harness in
            let first = try TestWorker()
            let second = try TestWorker()
            try await harness.addWorker(first)
            try await harness.addWorker(second)
            let holder = try Self.startHalfUpload(harness, try await Self.signedUpdate(harness, first, baseVersion: "1"))
            #expect(await harness.waitFor { harness.admission == (1, 0) })
            let request = try await Self.signedUpdate(harness, second, baseVersion: "2")
            let connection = try RawConnection(port: harness.port)
            let descriptor = connection.fd
            let sender = Thread {
                try? RawConnection.send(
                    Array(PlainUploadHarness.updateHead(request, bodyCount: Self.payload.count).utf8) + Self.payload
                        + Array("GET \(DCFRoute.protocolPath) HTTP/1.1\r\nHost: test\r\n\r\n".utf8), to: descriptor)
            }
            sender.start()
            #expect(await harness.waitFor { harness.admission == (1, 1) })
            #expect(!connection.hasInput(within: 200))
            #expect(try Self.sendRest(holder).status == 200)
            let interim = try connection.readResponse()
            #expect(interim.status == 100)
            let update = try connection.readResponse()
            #expect(update.status == 200, "\(update.text)")
            let pipelined = try connection.readResponse()
            #expect(pipelined.status == 200, "\(pipelined.text)")
            #expect(await harness.waitFor { harness.admission == (0, 0) })
        }
    }

    @Test func expectOnCollectedRouteContinuesAtOnce() async throws {
        try await PlainUploadHarness.run(configure: { $0.maximumConcurrentUploads = 1 }) { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let holder = try Self.startHalfUpload(harness, try await Self.signedUpdate(harness, worker, baseVersion: "1"))
            #expect(await harness.waitFor { harness.admission == (1, 0) })
            let nonce = try worker.nonceRequest()
            let body = try nonce.body.data()
            var head = "POST \(nonce.target) HTTP/1.1\r\nHost: test\r\nContent-Length: \(body.count)\r\n"
            for header in nonce.headers { head += "\(header.name): \(header.value)\r\n" }
            let connection = try RawConnection(port: harness.port)
            try connection.send(head + "Expect: 100-continue\r\n\r\n")
            #expect(try connection.readResponse().status == 100)
            try connection.send(body)
            let response = try connection.readResponse()
            #expect(response.status == 200, "\(response.text)")
            #expect(try Self.sendRest(holder).status == 200)
        }
    }

    /// Uploads waiting when the service stops get 503 at once and leave no place taken.
    @Test func stopWithWaitingUploadsFreesPlaces() async throws {
        let harness = try PlainUploadHarness(configure: { $0.maximumConcurrentUploads = 1 })
        let first = try TestWorker()
        let second = try TestWorker()
        try await harness.addWorker(first)
        try await harness.addWorker(second)
        let holder = try Self.startHalfUpload(harness, try await Self.signedUpdate(harness, first, baseVersion: "1"))
        let request = try await Self.signedUpdate(harness, second, baseVersion: "2")
        let waiting = try RawConnection(port: harness.port)
        try waiting.send(PlainUploadHarness.updateHead(request, bodyCount: Self.payload.count))
        #expect(await harness.waitFor { harness.admission == (1, 1) })
        await harness.stop()
        // The half-sent upload gives its place back on its own queue once the stop has closed its connection.
        #expect(await harness.waitFor { harness.admission == (0, 0) })
        let answer = String(decoding: try waiting.receiveUntilClosed(), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 503"), "\(answer)")
        #expect(answer.contains("shutting down"), "\(answer)")
        _ = holder
    }

    /// Fifty workers upload at once through `HTTPClient`, which waits for 100 Continue, behind one or two places.
    @Test(arguments: [1, 2])
    func fiftySimultaneousUploadsFinish(places: Int) async throws {
        try await PlainUploadHarness.run(configure: { $0.maximumConcurrentUploads = places }) { harness in
            var requests: [HTTPClientRequest] = []
            for _ in 0..<50 {
                let worker = try TestWorker()
                try await harness.addWorker(worker)
                let signed = try await Self.signedUpdate(harness, worker, baseVersion: "1")
                var request = HTTPClientRequest(
                    method: "POST", path: DCFRoute.updatePath,
                    headers: HTTPHeaders(signed.headers.map { ($0.name, $0.value) } + [("Expect", "100-continue")]),
                    body: .data(Self.payload))
                request.continueTimeout = .seconds(120)
                requests.append(request)
            }
            let codes = try await withThrowingTaskGroup(of: DCFErrorCode?.self) { group in
                for request in requests {
                    group.addTask {
                        let client = try HTTPClient(
                            host: "127.0.0.1", port: harness.port,
                            configuration: HTTPClientConfiguration(transport: .plainTCP))
                        let response = try await harness.send(request, on: client)
                        return response.statusCode == 200 ? nil : response.code
                    }
                }
                var codes: [DCFErrorCode?] = []
                for try await code in group { codes.append(code) }
                return codes
            }
            // The first accepted update publishes version 2, so the others built on version 1 are stale.
            #expect(codes.filter { $0 == nil }.count == 1)
            #expect(codes.filter { $0 == .updateRejected }.count == 49)
            #expect(await harness.waitFor { harness.admission == (0, 0) })
            #expect(harness.server.uploadAdmission.admittedTotal == 50)
        }
    }
}
