// SPDX-License-Identifier: Apache-2.0
import DCFCompression
import DCFCrypto
import DCFProtocol
import DCFServer
import DCFTransport
import Foundation
import Testing

/// A worker's round over real TLS: discovery, registration, long poll, download and upload.
@Suite struct HTTPRoundTests {
    /// A compressible model, so every coding is worth offering.
    static let model = GlobalModel(
        version: 1, bytes: Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 / 7) }))

    @Test func protocolDiscovery() async throws {
        try await HTTPHarness.run { harness in
            let response = try await harness.send(HTTPClientRequest(path: DCFRoute.protocolPath))
            #expect(response.statusCode == 200)
            let info = try response.decode(ProtocolInfo.self)
            #expect(info == ProtocolInfo(range: .supported, server: "dcf-serverd"))
        }
    }

    @Test func nonceThenRegister() async throws {
        try await HTTPHarness.run { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker, registered: false)
            let body = try JSONEncoder().encode(RegisterRequest(publicKey: nil))
            let response = try await harness.signed(worker, "POST", DCFRoute.registerPath, body: body)
            #expect(response.statusCode == 200)
            #expect(try response.decode(RegisterResponse.self) == RegisterResponse(workerID: worker.id, registered: true))
            #expect(response.headers[DCFHeader.nextNonce] != nil)
            #expect(harness.strategy.registeredCalls == [worker.id])
        }
    }

    @Test func longPollCompletedFromOtherThread() async throws {
        try await HTTPHarness.run { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let nonce = try await harness.nonce(for: worker)
            let request = try worker.signed("GET", DCFRoute.modelWaitTarget(knownVersion: 1), nonce: nonce)
            async let poll = harness.send(request, idleTimeout: .seconds(30))
            #expect(await harness.waitFor { harness.server.parkedLongPollCount == 1 })
            // The transport counts the parked request after the server's table does.
            #expect(await harness.waitFor { harness.service.statistics.parkedRequests == 1 })
            DispatchQueue.global().async {
                harness.strategy.publish(GlobalModel(version: 2, bytes: Data("v2".utf8)))
            }
            let response = try await poll
            #expect(response.statusCode == 200)
            #expect(try response.decode(ModelWaitResponse.self) == ModelWaitResponse(changed: true, version: 2))
            #expect(response.headers[DCFHeader.nextNonce] != nil)
        }
    }

    @Test func downloadWithEntityTag() async throws {
        try await HTTPHarness.run(initialModel: Self.model) { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let full = try await harness.signed(worker, "GET", "/dcf/model/1", headers: [("Accept-Encoding", "identity")])
            #expect(full.statusCode == 200)
            #expect(full.body == Self.model.bytes)
            #expect(full.headers["ETag"] == "\"v1\"")
            #expect(full.headers["Content-Encoding"] == nil)

            let cached = try await harness.signed(worker, "GET", "/dcf/model/1", headers: [("If-None-Match", "\"v1\"")])
            #expect(cached.statusCode == 304)
            #expect(cached.body.isEmpty)
        }
    }

    @Test(arguments: [DCFCompression.ContentCoding.gzip, .deflate])
    func downloadNegotiatesCoding(_ coding: DCFCompression.ContentCoding) async throws {
        try await HTTPHarness.run(initialModel: Self.model) { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let response = try await harness.signed(
                worker, "GET", DCFRoute.modelPath, headers: [("Accept-Encoding", "\(coding.rawValue), identity;q=0.5")])
            #expect(response.statusCode == 200)
            #expect(response.headers["Content-Encoding"] == coding.rawValue)
            #expect(response.body.count < Self.model.bytes.count)
            let inflated = try Inflater.decompress(response.body, coding: coding, maxOutputBytes: 1 << 20)
            #expect(inflated == Self.model.bytes)
        }
    }

    @Test func uploadReachesStrategyByteExact() async throws {
        try await HTTPHarness.run { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            var generator = SystemRandomNumberGenerator()
            let payload = Data((0..<(3 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let response = try await harness.signed(
                worker, "POST", DCFRoute.updatePath, body: payload, baseVersion: "1")
            #expect(response.statusCode == 200, "\(response.text)")
            #expect(try response.decode(UpdateResponse.self).accepted)
            let update = try #require(harness.strategy.lastUpdate)
            // Digests, not the bytes: a failed comparison of megabytes would spend minutes listing differences.
            #expect(update.payload.count == payload.count)
            #expect(try SHA256.hash(update.payload).hexString == (try SHA256.hash(payload).hexString))
            #expect(update.baseVersion == 1)
            let file = try #require(update.payloadFile)
            #expect(!FileManager.default.fileExists(atPath: file.path))
            // The upload handler deletes its spool file after the response is sent, so the client can see the
            // response first; a file still there after the bounded wait is a leak.
            #expect(await harness.waitFor { harness.spoolFiles.isEmpty }, "left: \(harness.spoolFiles)")
            #expect(harness.server.status().modelVersion == 2)
        }
    }

    @Test func uploadIntoLongerReusedFileIsByteExact() async throws {
        try await HTTPHarness.run { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            // A kept file from an earlier round, longer than the next upload, which the upload takes over.
            let spool = UpdateSpool(stateDirectory: harness.directory.url.appendingPathComponent("state"))
            try FileManager.default.createDirectory(at: spool.directory, withIntermediateDirectories: true)
            let earlier = spool.directory.appendingPathComponent("earlier-update")
            try Data(repeating: 0xEE, count: 5 << 20).write(to: earlier)
            spool.recycle(earlier)

            var generator = SystemRandomNumberGenerator()
            let payload = Data((0..<(3 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let response = try await harness.signed(
                worker, "POST", DCFRoute.updatePath, body: payload, baseVersion: "1")
            #expect(response.statusCode == 200, "\(response.text)")
            let update = try #require(harness.strategy.lastUpdate)
            // Digests, not the bytes: a failed comparison of megabytes would spend minutes listing differences.
            #expect(update.payload.count == payload.count)
            #expect(try SHA256.hash(update.payload).hexString == (try SHA256.hash(payload).hexString))
        }
    }

    @Test(arguments: [DCFCompression.ContentCoding.gzip, .deflate])
    func compressedUploadIsInflated(_ coding: DCFCompression.ContentCoding) async throws {
        try await HTTPHarness.run { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let payload = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 % 251) })
            let body = try Deflater.compress(payload, coding: coding)
            let response = try await harness.signed(
                worker, "POST", DCFRoute.updatePath, body: body, baseVersion: "1",
                headers: [("Content-Encoding", coding.rawValue)])
            #expect(response.statusCode == 200, "\(response.text)")
            let update = try #require(harness.strategy.lastUpdate)
            #expect(update.payload == payload)
            #expect(update.bodySHA256 == (try SHA256.hash(body).hexString))
            // The upload handler deletes its spool file after the response is sent, so the client can see the
            // response first; a file still there after the bounded wait is a leak.
            #expect(await harness.waitFor { harness.spoolFiles.isEmpty }, "left: \(harness.spoolFiles)")
        }
    }

    @Test func disconnectWhileParkedDropsPoll() async throws {
        try await HTTPHarness.run { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let nonce = try await harness.nonce(for: worker)
            let request = try worker.signed("GET", DCFRoute.modelWaitTarget(knownVersion: 1), nonce: nonce)
            // The client gives up after one second of silence and closes its connection.
            await #expect(throws: HTTPClientError.self) {
                _ = try await harness.send(request, idleTimeout: .seconds(1))
            }
            #expect(await harness.waitFor { harness.server.parkedLongPollCount == 0 })
            #expect(await harness.waitFor { harness.service.statistics.parkedRequests == 0 })
        }
    }

    @Test func stopAnswersParkedPoll() async throws {
        let harness = try HTTPHarness()
        let worker = try TestWorker()
        try await harness.addWorker(worker)
        let nonce = try await harness.nonce(for: worker)
        let request = try worker.signed("GET", DCFRoute.modelWaitTarget(knownVersion: 1), nonce: nonce)
        async let poll = harness.send(request, idleTimeout: .seconds(30))
        #expect(await harness.waitFor { harness.server.parkedLongPollCount == 1 })
        await harness.stop()
        let response = try await poll
        #expect(response.statusCode == 503)
        #expect(response.code == .unavailable)
    }
}
