// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import DCFServer
import Foundation
import Testing

@Suite struct AdminCredentialsTests {
    private func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    @Test func environmentCredentialsAccepted() throws {
        let credentials = try #require(
            try AdminCredentials.load(
                environment: [AdminCredentials.usernameVariable: "admin", AdminCredentials.passwordVariable: "s:cret"],
                file: nil))
        #expect(credentials.accepts(authorization: basic("admin", "s:cret")))
        #expect(credentials.accepts(authorization: "basic " + Data("admin:s:cret".utf8).base64EncodedString()))
        #expect(!credentials.accepts(authorization: basic("admin", "s:cre")))
        #expect(!credentials.accepts(authorization: basic("Admin", "s:cret")))
        #expect(!credentials.accepts(authorization: nil))
        #expect(!credentials.accepts(authorization: "Bearer abc"))
        #expect(!credentials.accepts(authorization: "Basic %%%"))
    }

    @Test func noCredentialsDisablesAdmin() throws {
        #expect(try AdminCredentials.load(environment: [:], file: nil) == nil)
    }

    @Test func onlyUsernameIsAnError() {
        #expect(throws: ConfigurationError.self) {
            try AdminCredentials.load(environment: [AdminCredentials.usernameVariable: "admin"], file: nil)
        }
    }

    @Test func fileCredentialsAccepted() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.file("admin", contents: "# dcf admin\nops:pa ss\n")
        let credentials = try #require(try AdminCredentials.load(environment: [:], file: file))
        #expect(credentials.accepts(authorization: basic("ops", "pa ss")))
    }

    /// A file saved with Windows line endings gives the same credentials: "\r\n" is one Character in Swift, so
    /// splitting on "\n" alone kept the line ending in the password.
    @Test(arguments: ["# dcf admin\r\nops:pa ss\r\n", "ops:pa ss\r\n\r\n", "ops:pa ss\r\n"])
    func fileWithCRLFLineEndingsAccepted(contents: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.file("admin", contents: contents)
        let credentials = try #require(try AdminCredentials.load(environment: [:], file: file))
        #expect(credentials.accepts(authorization: basic("ops", "pa ss")))
    }

    @Test(arguments: ["", "nocolon\n", "a:b\nc:d\n", "a:b\r\nc:d\r\n", ":empty-user\n"])
    func invalidFileNamesPath(contents: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.file("admin-credentials", contents: contents)
        #expect {
            _ = try AdminCredentials.load(environment: [:], file: file)
        } throws: { error in
            String(describing: error).contains("admin-credentials")
        }
    }

    @Test func environmentAndFileIsAnError() throws {
        let environment = [AdminCredentials.usernameVariable: "a", AdminCredentials.passwordVariable: "b"]
        #expect(throws: ConfigurationError.self) {
            try AdminCredentials.load(environment: environment, file: URL(fileURLWithPath: "/nonexistent"))
        }
    }
}

@Suite struct AdminRouteTests {
    let authorization = "Basic " + Data("admin:pw".utf8).base64EncodedString()

    private func harness() throws -> ServerHarness {
        try ServerHarness(admin: try AdminCredentials(username: "admin", password: "pw"))
    }

    private func request(_ method: String, _ target: String, _ body: some Encodable) throws -> ServerRequest {
        ServerRequest(
            method: method, target: target, headers: [("Authorization", authorization)],
            body: try .memory(try JSONEncoder().encode(body)))
    }

    @Test func addListUnregisterRemove() throws {
        let harness = try harness()
        let worker = try TestWorker()
        let add = try #require(
            harness.send(try request("POST", "/admin/workers", AdminAddWorkerRequest(publicKey: worker.publicKeyHex, registered: true))))
        #expect(try add.decode(AdminWorkerResult.self) == AdminWorkerResult(workerID: worker.id, registered: true))
        #expect(harness.strategy.registeredCalls == [worker.id])

        let list = try #require(harness.send(ServerRequest(method: "GET", target: "/admin/workers", headers: [("Authorization", authorization)])))
        #expect(try list.decode([AdminWorkerEntry].self).map(\.workerID) == [worker.id])

        let put = try #require(
            harness.send(try request("PUT", "/admin/workers/\(worker.id)", AdminSetRegistrationRequest(registered: false))))
        #expect(try put.decode(AdminWorkerResult.self).registered == false)
        #expect(harness.strategy.unregisteredCalls == [worker.id])
        #expect(harness.send(try worker.nonceRequest())?.code == .unregisteredWorker)

        let delete = try #require(
            harness.send(ServerRequest(method: "DELETE", target: "/admin/workers/\(worker.id)", headers: [("Authorization", authorization)])))
        #expect(delete.status == 200)
        #expect(harness.strategy.unregisteredCalls == [worker.id])
        #expect(harness.server.registry.workers.isEmpty)
    }

    @Test func unregisteringAnswersParkedPoll() throws {
        let harness = try harness()
        let worker = try TestWorker()
        _ = harness.send(try request("POST", "/admin/workers", AdminAddWorkerRequest(publicKey: worker.publicKeyHex, registered: true)))
        let wait = harness.park(
            try worker.signed("GET", DCFRoute.modelWaitTarget(knownVersion: 1), nonce: try harness.nonce(for: worker)))
        _ = harness.send(try request("PUT", "/admin/workers/\(worker.id)", AdminSetRegistrationRequest(registered: false)))
        #expect(wait.response?.code == .unregisteredWorker)
    }

    @Test func wrongCredentialsChangeNothing() throws {
        let harness = try harness()
        let worker = try TestWorker()
        var add = try request("POST", "/admin/workers", AdminAddWorkerRequest(publicKey: worker.publicKeyHex, registered: true))
        add.headers = [("Authorization", "Basic " + Data("admin:wrong".utf8).base64EncodedString())]
        let response = try #require(harness.send(add))
        #expect(response.code == .unauthorized)
        #expect(response.status == 401)
        #expect(response.header("WWW-Authenticate")?.hasPrefix("Basic") == true)
        #expect(harness.server.registry.workers.isEmpty)
    }

    @Test func adminOffWithoutCredentials() throws {
        let harness = try ServerHarness()
        #expect(harness.logged("admin API disabled"))
        let response = try #require(harness.send(ServerRequest(method: "GET", target: "/admin/status", headers: [("Authorization", authorization)])))
        #expect(response.code == .adminDisabled)
    }

    @Test func malformedBodyIsMalformedJSON() throws {
        let harness = try harness()
        let request = ServerRequest(
            method: "POST", target: "/admin/workers", headers: [("Authorization", authorization)],
            body: try .memory(Data("{\"registered\": true}".utf8)))
        let response = try #require(harness.send(request))
        #expect(response.code == .malformedJSON)
        #expect(String(decoding: response.body, as: UTF8.self).contains("public_key_str"))
    }

    @Test func statusReportsRound() throws {
        let harness = try harness()
        let response = try #require(harness.send(ServerRequest(method: "GET", target: "/admin/status", headers: [("Authorization", authorization)])))
        let status = try response.decode(AdminStatusResponse.self)
        #expect(status.modelVersion == 1)
        #expect(status.admissionMode == "safe")
        #expect(status.round == ["updates": 0])
    }

    @Test func metricsCountRejections() throws {
        let harness = try harness()
        _ = harness.send(try TestWorker().nonceRequest())
        let metrics = try #require(harness.send(ServerRequest(method: "GET", target: "/metrics")))
        let text = String(decoding: metrics.body, as: UTF8.self)
        #expect(text.contains("dcf_requests_rejected_total{code=\"unknown_key\"} 1"))
        #expect(text.contains("dcf_global_model_version 1"))
    }
}
