// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import Foundation
import Testing

/// The warnings of the check that `setAdminWarningSource` sets are logged after each admin change while they
/// remain, and returned with the change and with the status.
@Suite struct AdminWarningTests {
    let authorization = "Basic " + Data("admin:pw".utf8).base64EncodedString()
    static let message = "no round can close: test"

    /// Returns a harness whose check warns while fewer than two workers are not disabled.
    private func harness() throws -> ServerHarness {
        let harness = try ServerHarness(admin: try AdminCredentials(username: "admin", password: "pw"))
        harness.server.setAdminWarningSource { [registry = harness.server.registry] in
            let eligible = registry.workers.filter { $0.status != .disabled }.count
            return eligible < 2 ? [AdminWarning(Self.message, [("workers", String(eligible))])] : []
        }
        return harness
    }

    private func request(_ method: String, _ target: String, _ body: (some Encodable)? = nil as Int?) throws
        -> ServerRequest
    {
        ServerRequest(
            method: method, target: target, headers: [("Authorization", authorization)],
            body: try body.map { try .memory(try JSONEncoder().encode($0)) } ?? .empty)
    }

    private func add(_ harness: ServerHarness, _ worker: TestWorker) throws -> ServerResponse {
        try #require(
            harness.send(
                try request(
                    "POST", DCFRoute.adminWorkersPath,
                    AdminAddWorkerRequest(publicKey: worker.publicKeyHex, registered: true))))
    }

    private func warningLines(_ harness: ServerHarness) -> [String] {
        harness.logLines.lines.filter { $0.contains(Self.message) }
    }

    @Test func changeReturnsAndLogsWarning() throws {
        let harness = try harness()
        let first = try TestWorker()
        let second = try TestWorker()
        // One worker: the check warns after the change, with the figures in the text.
        let addFirst = try add(harness, first)
        #expect(try addFirst.decode(AdminWorkerResult.self).warnings == ["\(Self.message) (workers=1)"])
        #expect(warningLines(harness).count == 1)
        // Two workers: nothing to warn about, and the reply has no warnings field at all, as before.
        let addSecond = try add(harness, second)
        #expect(try addSecond.decode(AdminWorkerResult.self).warnings == nil)
        #expect(!String(decoding: addSecond.body, as: UTF8.self).contains("warnings"))
        #expect(warningLines(harness).count == 1)

        let disable = try #require(
            harness.send(
                try request(
                    "PUT", DCFRoute.adminWorkersPath + "/\(second.id)", AdminSetRegistrationRequest(registered: false))))
        #expect(try disable.decode(AdminWorkerResult.self).warnings == ["\(Self.message) (workers=1)"])
        let logged = warningLines(harness)
        #expect(logged.count == 2)
        #expect(logged.last?.contains(" warning ") == true, "\(logged)")
        #expect(logged.last?.contains("workers=1") == true, "\(logged)")

        let status = try #require(harness.send(try request("GET", DCFRoute.adminStatusPath)))
        #expect(try status.decode(AdminStatusResponse.self).warnings == ["\(Self.message) (workers=1)"])
        // The status only reports the warning, so the log still has it once per change.
        #expect(warningLines(harness).count == 2)

        let remove = try #require(harness.send(try request("DELETE", DCFRoute.adminWorkersPath + "/\(first.id)")))
        #expect(try remove.decode(AdminWorkerResult.self).warnings == ["\(Self.message) (workers=0)"])
        #expect(warningLines(harness).count == 3)
    }

    @Test func serverWithoutCheckSendsNoWarnings() throws {
        let harness = try ServerHarness(admin: try AdminCredentials(username: "admin", password: "pw"))
        let added = try add(harness, try TestWorker())
        #expect(try added.decode(AdminWorkerResult.self).warnings == nil)
        let status = try #require(harness.send(try request("GET", DCFRoute.adminStatusPath)))
        #expect(try status.decode(AdminStatusResponse.self).warnings == nil)
        #expect(!String(decoding: status.body, as: UTF8.self).contains("warnings"))
    }
}
