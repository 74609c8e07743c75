// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFServer
import Foundation
import Testing

/// Admin removal and disabling of workers whose key comes from the key list.
@Suite struct KeyListWorkerAdminTests {
    private static func key() throws -> String { try Ed25519PrivateKey().publicKey.hexString }

    private static let admin = try! AdminCredentials(username: "admin", password: "pw")
    private static let authorization = "Basic " + Data("admin:pw".utf8).base64EncodedString()

    private static func adminRequest(_ method: String, _ path: String, body: Data = Data()) throws -> ServerRequest {
        ServerRequest(
            method: method, target: path, headers: [("Authorization", authorization)],
            body: body.isEmpty ? .empty : try .memory(body))
    }

    @Test func deleteOfKeyListWorkerIsConflict() throws {
        let listed = try Self.key()
        let harness = try ServerHarness(
            admission: { .safe(keyList: KeyListFile(url: try $0.file("w.keys", contents: "\(listed)\n"))) },
            admin: Self.admin)
        let id = WorkerID(listed)!
        let response = try #require(harness.send(try Self.adminRequest("DELETE", "\(DCFRoute.adminWorkersPath)/\(id)")))
        #expect(response.status == 409)
        #expect(response.code == .conflict)
        let message = try response.decode(DCFErrorResponse.self).message
        #expect(message.contains("w.keys"))
        #expect(message.contains("reload"))
        #expect(harness.server.registry.record(for: id) != nil)
    }

    @Test func disabledKeyListWorkerStaysDisabledAfterReload() throws {
        let listed = try Self.key()
        let harness = try ServerHarness(
            admission: { .safe(keyList: KeyListFile(url: try $0.file("w.keys", contents: "\(listed)\n"))) },
            admin: Self.admin)
        let id = WorkerID(listed)!
        let body = try JSONEncoder().encode(AdminSetRegistrationRequest(registered: false))
        let response = try #require(
            harness.send(try Self.adminRequest("PUT", "\(DCFRoute.adminWorkersPath)/\(id)", body: body)))
        #expect(response.status == 200)
        _ = try harness.server.reloadKeyList()
        #expect(harness.server.registry.record(for: id)?.status == .disabled)
    }

    @Test func deleteOfAdminWorkerStillWorks() throws {
        let harness = try ServerHarness(admission: { _ in .safe(keyList: nil) }, admin: Self.admin)
        let added = try Self.key()
        _ = try harness.server.registry.addWorker(publicKey: added, registered: false)
        let response = try #require(
            harness.send(try Self.adminRequest("DELETE", "\(DCFRoute.adminWorkersPath)/\(WorkerID(added)!)")))
        #expect(response.status == 200)
        #expect(harness.server.registry.record(for: WorkerID(added)!) == nil)
    }
}

/// A worker that came from a key list which the configuration no longer names.
@Suite struct DroppedKeyListWorkerTests {
    private static let admin = try! AdminCredentials(username: "admin", password: "pw")
    private static let authorization = "Basic " + Data("admin:pw".utf8).base64EncodedString()

    @Test func workerOfUnsetKeyListCanBeRemoved() throws {
        let listed = try Ed25519PrivateKey().publicKey.hexString
        let harness = try ServerHarness(
            admission: { .safe(keyList: KeyListFile(url: try $0.file("w.keys", contents: "\(listed)\n"))) },
            admin: Self.admin)
        let id = WorkerID(listed)!
        // SIGHUP after `key_list` was removed from the config: safe mode without a key list.
        _ = try harness.server.reloadKeyList(mode: .safe(keyList: nil))
        #expect(harness.server.registry.record(for: id)?.source == .keyList)

        // No reload can add the key again, so the admin API must be able to remove it; before, the answer was
        // 409 telling the operator to edit a key list file the server no longer reads.
        let request = ServerRequest(
            method: "DELETE", target: "\(DCFRoute.adminWorkersPath)/\(id)", headers: [("Authorization", Self.authorization)])
        let response = try #require(harness.send(request))
        #expect(response.status == 200, "\(String(decoding: response.body, as: UTF8.self))")
        #expect(harness.server.registry.record(for: id) == nil)
    }
}
