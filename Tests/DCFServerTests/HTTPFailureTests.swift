// SPDX-License-Identifier: Apache-2.0
import DCFCompression
import DCFCrypto
import DCFProtocol
import DCFServer
import DCFTransport
import Foundation
import Synchronization
import Testing

/// Each rejection over real TLS: its status, its JSON error code, and no other effect.
@Suite struct HTTPFailureTests {
    /// What a rejected request must leave as it was.
    private struct Snapshot: Equatable {
        var registered: [WorkerID]
        var unregistered: [WorkerID]
        var updates: Int
        var modelVersion: ModelVersion?
        var workers: [WorkerID]
        var spoolFiles: [String]

        init(_ harness: HTTPHarness) {
            registered = harness.strategy.registeredCalls
            unregistered = harness.strategy.unregisteredCalls
            updates = harness.strategy.updateCount
            modelVersion = harness.server.status().modelVersion
            workers = harness.server.registry.workers.map(\.id)
            spoolFiles = harness.spoolFiles
        }
    }

    /// Runs `request` against a harness with one registered worker and expects `status` and `code`, with
    /// nothing else changed.
    private func expectRejection(
        _ status: Int, _ code: DCFErrorCode,
        configure: (inout DCFServerConfiguration) -> Void = { _ in },
        _ request: (HTTPHarness, TestWorker) async throws -> HTTPClientResponse
    ) async throws {
        try await HTTPHarness.run(configure: configure) { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let before = Snapshot(harness)
            let response = try await request(harness, worker)
            #expect(response.statusCode == status, "\(response.text)")
            #expect(response.code == code, "\(response.text)")
            #expect(response.headers["Content-Type"] == "application/json")
            #expect(await harness.waitFor { Snapshot(harness) == before })
        }
    }

    @Test func unknownKey() async throws {
        try await expectRejection(401, .unknownKey) { harness, _ in
            let stranger = try TestWorker()
            return try await harness.send(try stranger.signed("GET", DCFRoute.modelPath, nonce: "00"))
        }
    }

    @Test func badSignature() async throws {
        try await expectRejection(401, .badSignature) { harness, worker in
            var impostor = try TestWorker()
            impostor.id = worker.id
            // The nonce request itself must be signed by the worker, so the impostor uses one the worker got.
            let nonce = try await harness.nonce(for: worker)
            return try await harness.send(try impostor.signed("GET", DCFRoute.modelPath, nonce: nonce))
        }
    }

    @Test func replayedRequest() async throws {
        try await expectRejection(401, .replayedRequest) { harness, worker in
            let request = try worker.signed("GET", "/dcf/model/1", nonce: try await harness.nonce(for: worker))
            let first = try await harness.send(request)
            #expect(first.statusCode == 200)
            return try await harness.send(request)
        }
    }

    @Test func unregisteredWorker() async throws {
        try await HTTPHarness.run { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker, registered: false)
            let before = Snapshot(harness)
            let response = try await harness.send(try worker.signed("GET", DCFRoute.modelPath, nonce: "00"))
            #expect(response.statusCode == 403)
            #expect(response.code == .unregisteredWorker)
            #expect(Snapshot(harness) == before)
        }
    }

    @Test func removedWorker() async throws {
        try await HTTPHarness.run { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let nonce = try await harness.nonce(for: worker)
            let removal = try await harness.admin("DELETE", "\(DCFRoute.adminWorkersPath)/\(worker.id)")
            #expect(removal.statusCode == 200)
            let before = Snapshot(harness)
            let response = try await harness.send(try worker.signed("GET", DCFRoute.modelPath, nonce: nonce))
            #expect(response.statusCode == 401)
            #expect(response.code == .unknownKey)
            #expect(Snapshot(harness) == before)
        }
    }

    @Test(arguments: [nil, "Basic " + Data("admin:wrong".utf8).base64EncodedString()])
    func adminCredentialsRejected(_ authorization: String?) async throws {
        try await expectRejection(401, .unauthorized) { harness, worker in
            var headers: HTTPHeaders = [:]
            if let authorization { headers.add(name: "Authorization", value: authorization) }
            let response = try await harness.send(
                HTTPClientRequest(method: "DELETE", path: "\(DCFRoute.adminWorkersPath)/\(worker.id)", headers: headers))
            #expect(response.headers["WWW-Authenticate"]?.hasPrefix("Basic") == true)
            return response
        }
    }

    @Test func protocolMismatchNamesBothRanges() async throws {
        try await expectRejection(426, .protocolMismatch) { harness, worker in
            let request = try worker.signed("GET", DCFRoute.modelPath, nonce: "00", protocolVersion: 99)
            let response = try await harness.send(request)
            let message = try response.decode(DCFErrorResponse.self).message
            #expect(message.contains("99"))
            #expect(message.contains(ProtocolVersionRange.supported.description))
            return response
        }
    }

    @Test func malformedJSON() async throws {
        try await expectRejection(400, .malformedJSON) { harness, _ in
            try await harness.send(
                HTTPClientRequest(
                    method: "POST", path: DCFRoute.noncePath, headers: [DCFHeader.protocolVersion: "1"],
                    body: .data(Data("{\"worker_id\": ".utf8))))
        }
    }

    /// Bodies over the limit, declared by `Content-Length` or found while a chunked body streams.
    @Test(arguments: [true, false])
    func oversizedJSONBody(declaredLength: Bool) async throws {
        try await expectRejection(413, .bodyTooLarge) { harness, _ in
            let body = Data(repeating: 0x20, count: 100 * 1024)
            let response = try await harness.send(
                HTTPClientRequest(
                    method: "POST", path: DCFRoute.noncePath, headers: [DCFHeader.protocolVersion: "1"],
                    body: Self.body(body, declaredLength: declaredLength)))
            // Rejected before the whole body was read, so the connection cannot carry another request.
            #expect(response.headers["Connection"] == "close")
            return response
        }
    }

    @Test(arguments: [true, false])
    func oversizedUpdate(declaredLength: Bool) async throws {
        try await expectRejection(413, .bodyTooLarge, configure: { $0.maximumUpdateBodyBytes = 256 * 1024 }) {
            harness, worker in
            let body = Data(repeating: 7, count: 300 * 1024)
            var request = try worker.signed(
                "POST", DCFRoute.updatePath, nonce: try await harness.nonce(for: worker), body: body, baseVersion: "1")
            request.body = .empty
            let response = try await harness.send(
                HTTPClientRequest(
                    method: "POST", path: DCFRoute.updatePath,
                    headers: HTTPHeaders(request.headers.map { ($0.name, $0.value) }),
                    body: Self.body(body, declaredLength: declaredLength)))
            // Rejected while streaming, before the whole body was spooled.
            #expect(response.headers["Connection"] == "close")
            return response
        }
    }

    @Test func compressedUpdateInflatesPastLimit() async throws {
        try await expectRejection(413, .inflatedTooLarge, configure: { $0.maximumInflatedUpdateBytes = 1 << 20 }) {
            harness, worker in
            let body = try Deflater.compress(Data(count: 4 << 20), coding: .gzip)
            let response = try await harness.signed(
                worker, "POST", DCFRoute.updatePath, body: body, baseVersion: "1",
                headers: [("Content-Encoding", "gzip")])
            // The message names the setting an operator changes, not the Swift property behind it.
            let message = try response.decode(DCFErrorResponse.self).message
            #expect(message.contains("1048576 bytes"), "\(message)")
            #expect(message.contains("max_inflated_update_bytes"), "\(message)")
            return response
        }
    }

    /// Sends `data` with `Content-Length`, or chunked in 16 KiB pieces.
    private static func body(_ data: Data, declaredLength: Bool) -> HTTPClientRequest.Body {
        guard !declaredLength else { return .data(data) }
        let offset = Mutex(0)
        return .stream(length: nil) {
            offset.withLock { offset in
                guard offset < data.count else { return nil }
                let end = min(offset + 16 * 1024, data.count)
                defer { offset = end }
                return data.subdata(in: offset..<end)
            }
        }
    }
}
