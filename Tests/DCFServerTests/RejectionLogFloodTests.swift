// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import Foundation
import Testing

/// A flood of bad requests logs at most 5 lines per second for each error code.
@Suite struct RejectionLogFloodTests {
    private static let floodSize = 60

    /// Lines per code over a flood that may cross one second boundary: 5 per second, twice.
    private static let maximumLines = 10

    private func lines(_ harness: ServerHarness, code: DCFErrorCode) -> [String] {
        harness.logLines.lines.filter { $0.contains("code=\(code.rawValue)") }
    }

    @Test func unknownKeyNonceRequestsAreRateLimited() throws {
        let harness = try ServerHarness()
        let stranger = try TestWorker()
        for _ in 0..<Self.floodSize {
            let response = try #require(harness.send(try stranger.nonceRequest()))
            #expect(response.code == .unknownKey)
        }
        let logged = lines(harness, code: .unknownKey)
        #expect(!logged.isEmpty)
        #expect(logged.count <= Self.maximumLines, "\(logged.count) lines")
        #expect(logged.allSatisfy { $0.contains("worker=\(stranger.id.short)") })
    }

    @Test func badSignaturesAreRateLimited() throws {
        let harness = try ServerHarness(admin: try AdminCredentials(username: "admin", password: "pw"))
        let worker = try TestWorker()
        _ = try harness.server.registry.addWorker(publicKey: worker.publicKeyHex, registered: true)
        var impostor = try TestWorker()
        impostor.id = worker.id
        for _ in 0..<Self.floodSize {
            let request = try impostor.signed("GET", DCFRoute.modelPath, nonce: try harness.nonce(for: worker))
            #expect(harness.send(request)?.code == .badSignature)
        }
        let logged = lines(harness, code: .badSignature)
        #expect(!logged.isEmpty)
        #expect(logged.count <= Self.maximumLines, "\(logged.count) lines")
        #expect(logged.allSatisfy { $0.contains("worker=\(worker.id.short)") })
    }

    @Test func wrongAdminCredentialsAreRateLimited() throws {
        let harness = try ServerHarness(admin: try AdminCredentials(username: "admin", password: "pw"))
        for _ in 0..<Self.floodSize {
            let request = ServerRequest(
                method: "GET", target: DCFRoute.adminWorkersPath, headers: [("Authorization", "Basic eDp5")])
            #expect(harness.send(request)?.code == .unauthorized)
        }
        let logged = lines(harness, code: .unauthorized)
        #expect(!logged.isEmpty)
        #expect(logged.count <= Self.maximumLines, "\(logged.count) lines")
    }
}
