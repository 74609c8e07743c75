// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFTransport
import Dispatch
import Foundation
import Synchronization
import Testing

/// `POST /dcf/update` heads are checked before any body byte is spooled, over real TLS.
@Suite struct UploadScreeningTests {
    /// A header set for the update head, built from a worker's signed request.
    enum HeadCase: String, CaseIterable, Sendable {
        case noDCFHeaders, noWorkerID, unknownWorker, nonceNotIssued, noBaseVersion, badEncoding
        case noBodyDigest, malformedBodyDigest, signedByAnotherKey, signedOverAnotherBody
    }

    private static let bodySize = 4 * 1024 * 1024

    private static func expected(_ headCase: HeadCase) -> (Int, DCFErrorCode) {
        switch headCase {
        case .noDCFHeaders: (426, .protocolMismatch)
        case .noWorkerID, .noBaseVersion: (400, .missingHeader)
        case .unknownWorker: (401, .unknownKey)
        case .nonceNotIssued: (401, .replayedRequest)
        case .badEncoding: (415, .unsupportedEncoding)
        case .noBodyDigest: (400, .missingHeader)
        case .malformedBodyDigest: (400, .badRequest)
        case .signedByAnotherKey, .signedOverAnotherBody: (401, .badSignature)
        }
    }

    private static func headers(
        _ headCase: HeadCase, _ harness: HTTPHarness, _ worker: TestWorker, nonce: String
    ) throws -> [(name: String, value: String)] {
        let body = Data(count: bodySize)
        switch headCase {
        case .noDCFHeaders: return []
        case .noWorkerID:
            return try worker.signed("POST", DCFRoute.updatePath, nonce: nonce, body: body, baseVersion: "1")
                .replacingHeader(DCFHeader.workerID, with: nil).headers
        case .unknownWorker:
            return try TestWorker().signed("POST", DCFRoute.updatePath, nonce: nonce, body: body, baseVersion: "1")
                .headers
        case .nonceNotIssued:
            return try worker.signed(
                "POST", DCFRoute.updatePath, nonce: String(repeating: "0", count: 32), body: body, baseVersion: "1"
            ).headers
        case .noBaseVersion:
            return try worker.signed("POST", DCFRoute.updatePath, nonce: nonce, body: body).headers
        case .badEncoding:
            return try worker.signed(
                "POST", DCFRoute.updatePath, nonce: nonce, body: body, baseVersion: "1",
                extraHeaders: [("Content-Encoding", "br")]
            ).headers
        case .noBodyDigest:
            return try worker.signed("POST", DCFRoute.updatePath, nonce: nonce, body: body, baseVersion: "1")
                .replacingHeader(DCFHeader.bodySHA256, with: nil).headers
        case .malformedBodyDigest:
            return try worker.signed("POST", DCFRoute.updatePath, nonce: nonce, body: body, baseVersion: "1")
                .replacingHeader(DCFHeader.bodySHA256, with: "not-a-digest").headers
        case .signedByAnotherKey:
            // Someone who knows the worker id and an outstanding nonce, but not the worker's key.
            var impostor = try TestWorker()
            impostor.id = worker.id
            return try impostor.signed("POST", DCFRoute.updatePath, nonce: nonce, body: body, baseVersion: "1").headers
        case .signedOverAnotherBody:
            // A valid signature over another body's digest, with this body's digest declared.
            let other = try worker.signed(
                "POST", DCFRoute.updatePath, nonce: nonce, body: Data(repeating: 1, count: 16), baseVersion: "1")
            let digest = try RequestBody.memory(body).sha256
            return other.replacingHeader(DCFHeader.bodySHA256, with: digest).headers
        }
    }

    @Test(arguments: HeadCase.allCases)
    func rejectedHeadSpoolsNothing(_ headCase: HeadCase) async throws {
        try await HTTPHarness.run(configure: { $0.maximumUpdateBodyBytes = 8 * 1024 * 1024 }) { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let nonce = try await harness.nonce(for: worker)
            let sawSpoolFile = Mutex(false)
            let sent = Mutex(0)
            let body = HTTPClientRequest.Body.stream(length: Self.bodySize) {
                if !harness.spoolFiles.isEmpty { sawSpoolFile.withLock { $0 = true } }
                return sent.withLock { sent in
                    guard sent < Self.bodySize else { return nil }
                    let count = min(64 * 1024, Self.bodySize - sent)
                    sent += count
                    return Data(count: count)
                }
            }
            let headers = try Self.headers(headCase, harness, worker, nonce: nonce)
            let response = try await harness.send(
                HTTPClientRequest(
                    method: "POST", path: DCFRoute.updatePath,
                    headers: HTTPHeaders(headers.map { ($0.name, $0.value) }), body: body))
            let (status, code) = Self.expected(headCase)
            #expect(response.statusCode == status, "\(response.text)")
            #expect(response.code == code, "\(response.text)")
            // Answered before the body was read, so the connection cannot carry another request.
            #expect(response.headers["Connection"] == "close")
            #expect(!sawSpoolFile.withLock { $0 })
            #expect(harness.strategy.updateCount == 0)
            if headCase != .nonceNotIssued && headCase != .unknownWorker {
                // The rejected head did not consume the nonce.
                #expect(harness.server.nonces.isOutstanding(nonce, for: worker.id))
            }
        }
    }

    @Test func bodyThatDiffersFromTheSignedDigestIsRejected() async throws {
        try await HTTPHarness.run { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let nonce = try await harness.nonce(for: worker)
            let signed = try worker.signed(
                "POST", DCFRoute.updatePath, nonce: nonce, body: Data(repeating: 3, count: 256 * 1024), baseVersion: "1")
            // Same length, one byte changed: the head verifies, the body does not match it.
            var tampered = Data(repeating: 3, count: 256 * 1024)
            tampered[1000] = 4
            let response = try await harness.send(
                HTTPClientRequest(
                    method: "POST", path: DCFRoute.updatePath,
                    headers: HTTPHeaders(signed.headers.map { ($0.name, $0.value) }), body: .data(tampered)))
            #expect(response.statusCode == 401, "\(response.text)")
            #expect(response.code == .badSignature)
            #expect(response.text.contains(DCFHeader.bodySHA256))
            #expect(harness.strategy.updateCount == 0)
            #expect(harness.server.nonces.isOutstanding(nonce, for: worker.id))
            #expect(await harness.waitFor { harness.spoolFiles.isEmpty })
        }
    }

    @Test func secondUploadOfWorkerIsRejected() async throws {
        try await HTTPHarness.run { harness in
            let worker = try TestWorker()
            try await harness.addWorker(worker)
            let payload = Data(repeating: 3, count: 512 * 1024)
            let release = DispatchSemaphore(value: 0)
            defer { release.signal() }
            let firstResponse = try await harness.stalledUpload(worker, payload: payload, release: release)
            #expect(await harness.waitFor { !harness.spoolFiles.isEmpty })
            let second = try await Self.sendOnNewConnection(
                harness,
                try worker.signed(
                    "POST", DCFRoute.updatePath, nonce: try await harness.nonce(for: worker), body: payload,
                    baseVersion: "1"))
            release.signal()
            #expect(second.statusCode == 409, "\(second.text)")
            #expect(second.code == .conflict)
            let firstResult = try await firstResponse.value
            #expect(firstResult.statusCode == 200, "\(firstResult.text)")
            // The finished upload released the worker, so a third one goes through; the example strategy
            // published version 2 after the first.
            let third = try await Self.sendOnNewConnection(
                harness,
                try worker.signed(
                    "POST", DCFRoute.updatePath, nonce: try await harness.nonce(for: worker), body: payload,
                    baseVersion: "2"))
            #expect(third.statusCode == 200, "\(third.text)")
            #expect(harness.strategy.updateCount == 2)
        }
    }

    private static func sendOnNewConnection(
        _ harness: HTTPHarness, _ request: ServerRequest
    ) async throws -> HTTPClientResponse {
        let certificates = try HTTPHarness.certificates.get()
        let client = try HTTPClient(
            host: "127.0.0.1", port: harness.port,
            configuration: HTTPClientConfiguration(
                transport: .tls(.client(trustedCAFile: certificates.ca.certificateFile))))
        let body = try request.body.data()
        let httpRequest = HTTPClientRequest(
            method: request.method, path: request.target,
            headers: HTTPHeaders(request.headers.map { ($0.name, $0.value) }), body: .data(body))
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try client.execute(httpRequest) })
            }
        }
    }
}
