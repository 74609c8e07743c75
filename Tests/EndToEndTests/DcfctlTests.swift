// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
import Foundation
import TestSupport
import Testing

@Suite struct DcfctlTests {
    /// Output and exit status of one `dcfctl` run.
    struct Run {
        let status: Int32
        let output: String
    }

    private func dcfctl(
        _ arguments: [String], server: RunningServerd?, fixture: ServerdFixture, environment: [String: String]? = nil
    ) throws -> Run {
        var connection: [String] = []
        if let server { connection = ["--server", server.url, "--ca-file", server.caFile] }
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcfctl"), arguments: arguments + connection,
            environment: environment ?? [
                "DCF_SERVER_ADMIN_USERNAME": ServerdFixture.adminUser,
                "DCF_SERVER_ADMIN_PASSWORD": ServerdFixture.adminPassword,
            ],
            logFile: fixture.directory.file("dcfctl-\(UUID().uuidString).log"))
        let status = process.waitForExit()
        return Run(status: status, output: process.output)
    }

    @Test func manageWorkersAgainstServer() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }
        let listed = try fixture.publicKeyHex(0)
        let added = try fixture.publicKeyHex(1)

        let list = try dcfctl(["list"], server: server, fixture: fixture)
        #expect(list.status == 0, "\(list.output)")
        #expect(list.output.contains(listed))
        #expect(!list.output.contains(added))

        let publicKeyFile = fixture.workerKeyFiles[1] + ".pub"
        let add = try dcfctl(["add", publicKeyFile, "--register"], server: server, fixture: fixture)
        #expect(add.status == 0, "\(add.output)")
        #expect(add.output.contains("added worker \(added), registered"), "\(add.output)")
        let addAgain = try dcfctl(["add", added], server: server, fixture: fixture)
        #expect(addAgain.status == 65, "\(addAgain.output)")
        #expect(addAgain.output.contains("dcfctl enable or disable"), "\(addAgain.output)")
        #expect(try server.workers().first { $0.publicKey == added }?.registered == true)

        let disable = try dcfctl(["disable", added], server: server, fixture: fixture)
        #expect(disable.status == 0, "\(disable.output)")
        #expect(try server.workers().first { $0.publicKey == added }?.registered == false)

        // The 8 digits that logs show are enough when they match one worker.
        let enable = try dcfctl(["enable", String(added.prefix(8))], server: server, fixture: fixture)
        #expect(enable.status == 0, "\(enable.output)")
        #expect(try server.workers().first { $0.publicKey == added }?.registered == true)

        let status = try dcfctl(["status"], server: server, fixture: fixture)
        #expect(status.status == 0, "\(status.output)")
        #expect(status.output.contains("model version:      1"))
        #expect(status.output.contains("registered workers: 1 of 2 known"))
        #expect(status.output.contains("update_lim: 1"))

        let remove = try dcfctl(["remove", added], server: server, fixture: fixture)
        #expect(remove.status == 0, "\(remove.output)")
        #expect(remove.output.contains("removed worker \(added)"))
        #expect(try !server.workers().contains { $0.publicKey == added })

        // Without --register the key is allowed, and its agent registers itself when it connects.
        let addAllowed = try dcfctl(["add", added], server: server, fixture: fixture)
        #expect(addAllowed.status == 0, "\(addAllowed.output)")
        #expect(addAllowed.output.contains("added worker \(added) as allowed"), "\(addAllowed.output)")
        #expect(addAllowed.output.contains("its agent registers when it connects"), "\(addAllowed.output)")
        #expect(try server.workers().first { $0.publicKey == added }?.registered == false)
    }

    /// With no round deadline, an admin change can leave fewer workers able to send updates than `update_lim`.
    /// The server's log and the dcfctl command that made the change then show the warning the server gives at
    /// start, and `dcfctl status` shows it while the problem remains.
    @Test func changeThatStopsRoundsIsWarned() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }
        let listed = try fixture.publicKeyHex(0)

        let before = try dcfctl(["status"], server: server, fixture: fixture)
        #expect(before.status == 0, "\(before.output)")
        #expect(!before.output.contains("warning"), "\(before.output)")

        let disable = try dcfctl(["disable", listed], server: server, fixture: fixture)
        #expect(disable.status == 0, "\(disable.output)")
        #expect(disable.output.contains("disabled worker \(listed)\nwarning: no round can close: "), "\(disable.output)")
        #expect(disable.output.contains("(update_lim=1 workers=0)"), "\(disable.output)")
        let line = try server.process.waitForLine(containing: "no round can close")
        #expect(line.contains(" warning "), "\(line)")
        #expect(line.contains("update_lim=1"), "\(line)")
        #expect(line.contains("workers=0"), "\(line)")

        let status = try dcfctl(["status"], server: server, fixture: fixture)
        #expect(status.status == 0, "\(status.output)")
        #expect(status.output.contains("\nwarning: no round can close: "), "\(status.output)")

        let enable = try dcfctl(["enable", listed], server: server, fixture: fixture)
        #expect(enable.status == 0, "\(enable.output)")
        #expect(!enable.output.contains("warning"), "\(enable.output)")
        let after = try dcfctl(["status"], server: server, fixture: fixture)
        #expect(!after.output.contains("warning"), "\(after.output)")
    }

    @Test func failuresExitWithCodeAndFix() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }

        let wrongPassword = try dcfctl(
            ["list"], server: server, fixture: fixture,
            environment: ["DCF_SERVER_ADMIN_USERNAME": ServerdFixture.adminUser, "DCF_SERVER_ADMIN_PASSWORD": "nope"])
        #expect(wrongPassword.status == 77, "\(wrongPassword.output)")
        #expect(wrongPassword.output.contains("DCF_SERVER_ADMIN_PASSWORD"))

        let unknown = String(repeating: "ab", count: 32)
        let removeUnknown = try dcfctl(["remove", unknown], server: server, fixture: fixture)
        #expect(removeUnknown.status == 65, "\(removeUnknown.output)")
        #expect(removeUnknown.output.contains("no worker id or public key starts with"), "\(removeUnknown.output)")

        let privateKeyFile = fixture.directory.file("site-x")
        _ = try Ed25519KeyFile.generate(at: privateKeyFile)
        // A wrong file is a data error, 65, like a key file that contains no key.
        let addPrivate = try dcfctl(["add", privateKeyFile], server: server, fixture: fixture)
        #expect(addPrivate.status == 65, "\(addPrivate.output)")
        #expect(addPrivate.output.contains("pass \(privateKeyFile).pub"))

        // The same private key alone, its .pub file gone: the owner-only mode gives it away.
        try FileManager.default.removeItem(atPath: privateKeyFile + ".pub")
        let addLonePrivate = try dcfctl(["add", privateKeyFile], server: server, fixture: fixture)
        #expect(addLonePrivate.status == 65, "\(addLonePrivate.output)")
        #expect(addLonePrivate.output.contains("looks like a private key file"), "\(addLonePrivate.output)")
        #expect(try server.workers().count == 1)

        let notAKey = fixture.directory.file("not-a-key.pub")
        try ServerdFixture.write("hello\n", to: notAKey)
        let addNotAKey = try dcfctl(["add", notAKey], server: server, fixture: fixture)
        #expect(addNotAKey.status == 65, "\(addNotAKey.output)")

        // A key file that does not exist is a missing input file, 66; hex digits of the wrong count are a
        // mistyped key on the command line, 64.
        let missingKeyFile = fixture.directory.file("nosuch.pub")
        let addMissing = try dcfctl(["add", missingKeyFile], server: server, fixture: fixture)
        #expect(addMissing.status == 66, "\(addMissing.output)")
        #expect(addMissing.output.contains("key file \"\(missingKeyFile)\" does not exist"), "\(addMissing.output)")
        let addShortKey = try dcfctl(["add", String(repeating: "ab", count: 31)], server: server, fixture: fixture)
        #expect(addShortKey.status == 64, "\(addShortKey.output)")
        #expect(addShortKey.output.contains("has 62 hex digits"), "\(addShortKey.output)")
        #expect(try server.workers().count == 1)

        let plainURL = server.url.replacingOccurrences(of: "https://", with: "http://")
        let plainHTTP = try dcfctl(["list", "--server", plainURL], server: nil, fixture: fixture)
        #expect(plainHTTP.status == 65, "\(plainHTTP.output)")
        #expect(plainHTTP.output.contains("use https:// in --server"), "\(plainHTTP.output)")
        #expect(plainHTTP.output.contains(plainURL), "\(plainHTTP.output)")
        // The same address from the environment: the message names the variable that contains it.
        let plainFromEnvironment = try dcfctl(
            ["list"], server: nil, fixture: fixture,
            environment: [
                "DCF_SERVER_ADMIN_USERNAME": ServerdFixture.adminUser,
                "DCF_SERVER_ADMIN_PASSWORD": ServerdFixture.adminPassword, "DCF_SERVER_URL": plainURL,
            ])
        #expect(plainFromEnvironment.status == 65, "\(plainFromEnvironment.output)")
        #expect(
            plainFromEnvironment.output.contains("use https:// in DCF_SERVER_URL"), "\(plainFromEnvironment.output)")

        let badPort = try dcfctl(["list", "--server", "https://127.0.0.1:99999"], server: nil, fixture: fixture)
        #expect(badPort.status == 64, "\(badPort.output)")
        #expect(badPort.output.contains("99999"), "\(badPort.output)")
        #expect(!badPort.output.contains("--ca-file"), "\(badPort.output)")

        // An https address without a port means 443, as it does for dcf-agent's agent.server. Nothing of the
        // tests listens there, so the connection is refused and the message names the port tried.
        let noPort = try dcfctl(["list", "--server", "https://127.0.0.1"], server: nil, fixture: fixture)
        #expect(noPort.status == 69, "\(noPort.output)")
        #expect(noPort.output.contains("127.0.0.1:443 failed"), "\(noPort.output)")
        // Nothing listens there, so the hint is about the address and the port, not about the CA file.
        #expect(noPort.output.contains("check the host and port in --server"), "\(noPort.output)")
        #expect(!noPort.output.contains("--ca-file"), "\(noPort.output)")

        let credentials = [
            "DCF_SERVER_ADMIN_USERNAME": ServerdFixture.adminUser, "DCF_SERVER_ADMIN_PASSWORD": ServerdFixture.adminPassword,
        ]
        let badEnvironmentURL = try dcfctl(
            ["list"], server: nil, fixture: fixture,
            environment: credentials.merging(["DCF_SERVER_URL": "https://127.0.0.1:1/x"]) { $1 })
        #expect(badEnvironmentURL.status == 64, "\(badEnvironmentURL.output)")
        #expect(badEnvironmentURL.output.contains("DCF_SERVER_URL"), "\(badEnvironmentURL.output)")
        // As a shell leaves it after `DCF_SERVER_URL=`: unset, so the default address is tried.
        let emptyEnvironmentURL = try dcfctl(
            ["list"], server: nil, fixture: fixture, environment: credentials.merging(["DCF_SERVER_URL": ""]) { $1 })
        #expect(emptyEnvironmentURL.status != 64, "\(emptyEnvironmentURL.output)")
        #expect(!emptyEnvironmentURL.output.contains("is not a server address"), "\(emptyEnvironmentURL.output)")

        let badID = try dcfctl(["enable", "xyz"], server: server, fixture: fixture)
        #expect(badID.status == 64)
        #expect(badID.output.contains("\"xyz\""))

        let missingCA = try dcfctl(
            ["list", "--server", server.url, "--ca-file", "/nonexistent/ca.pem"], server: nil, fixture: fixture)
        #expect(missingCA.status == 66)
        #expect(missingCA.output.contains("/nonexistent/ca.pem"))

        let untrusted = try dcfctl(
            ["list", "--server", server.url, "--ca-file", fixture.certificates.foreignCA.certificateFile],
            server: nil, fixture: fixture)
        #expect(untrusted.status == 69, "\(untrusted.output)")
        #expect(untrusted.output.contains("certificate"))

        // Hints after a failed connection name the variables that set the address and the CA file, not the options.
        let untrustedFromEnvironment = try dcfctl(
            ["list"], server: nil, fixture: fixture,
            environment: credentials.merging([
                "DCF_SERVER_URL": server.url, "DCF_CA_FILE": fixture.certificates.foreignCA.certificateFile,
            ]) { $1 })
        #expect(untrustedFromEnvironment.status == 69, "\(untrustedFromEnvironment.output)")
        #expect(
            untrustedFromEnvironment.output.contains("check DCF_CA_FILE and DCF_SERVER_URL"),
            "\(untrustedFromEnvironment.output)")
        #expect(!untrustedFromEnvironment.output.contains("--server"), "\(untrustedFromEnvironment.output)")
        #expect(!untrustedFromEnvironment.output.contains("--ca-file"), "\(untrustedFromEnvironment.output)")
        let missingCAFromEnvironment = try dcfctl(
            ["list"], server: nil, fixture: fixture,
            environment: credentials.merging(["DCF_SERVER_URL": server.url, "DCF_CA_FILE": "/nonexistent/ca.pem"]) { $1 })
        #expect(missingCAFromEnvironment.status == 66, "\(missingCAFromEnvironment.output)")
        #expect(
            missingCAFromEnvironment.output.contains("DCF_CA_FILE \"/nonexistent/ca.pem\""),
            "\(missingCAFromEnvironment.output)")
        let missingKeyFromEnvironment = try dcfctl(
            ["list", "--server", server.url, "--ca-file", server.caFile], server: nil, fixture: fixture,
            environment: credentials.merging([
                "DCF_CLIENT_CERTIFICATE": fixture.certificates.server.certificateFile,
                "DCF_CLIENT_KEY": "/nonexistent/client.key",
            ]) { $1 })
        #expect(missingKeyFromEnvironment.status == 66, "\(missingKeyFromEnvironment.output)")
        #expect(
            missingKeyFromEnvironment.output.contains("DCF_CLIENT_KEY \"/nonexistent/client.key\""),
            "\(missingKeyFromEnvironment.output)")
        let refusedFromEnvironment = try dcfctl(
            ["list"], server: nil, fixture: fixture,
            environment: credentials.merging(["DCF_SERVER_URL": "https://127.0.0.1:1"]) { $1 })
        #expect(refusedFromEnvironment.status == 69, "\(refusedFromEnvironment.output)")
        #expect(
            refusedFromEnvironment.output.contains("check the host and port in DCF_SERVER_URL"),
            "\(refusedFromEnvironment.output)")
        #expect(!refusedFromEnvironment.output.contains("--ca-file"), "\(refusedFromEnvironment.output)")
        #expect(!refusedFromEnvironment.output.contains("--server"), "\(refusedFromEnvironment.output)")

        let credentialsFile = fixture.directory.file("dcfctl.credentials")
        try ServerdFixture.write("# admin\n\(ServerdFixture.adminUser):\(ServerdFixture.adminPassword)\n", to: credentialsFile)
        let fromFile = try dcfctl(
            ["list", "--credentials-file", credentialsFile], server: server, fixture: fixture, environment: [:])
        #expect(fromFile.status == 0, "\(fromFile.output)")

        let noCredentials = try dcfctl(["list"], server: server, fixture: fixture, environment: [
            "DCF_SERVER_ADMIN_USERNAME": "", "DCF_SERVER_ADMIN_PASSWORD": "",
        ])
        #expect(noCredentials.status == 64)
        #expect(noCredentials.output.contains("--credentials-file"))
    }

    /// Parts of the address or the credentials that dcfctl cannot use are rejected before any connection,
    /// instead of being silently dropped.
    @Test func unusableAddressPartsRejected() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let credentials = [
            "DCF_SERVER_ADMIN_USERNAME": ServerdFixture.adminUser, "DCF_SERVER_ADMIN_PASSWORD": ServerdFixture.adminPassword,
        ]

        let userInURL = try dcfctl(["list", "--server", "https://admin:secret@127.0.0.1:1"], server: nil, fixture: fixture)
        #expect(userInURL.status == 64, "\(userInURL.output)")
        #expect(userInURL.output.contains("DCF_SERVER_ADMIN_USERNAME"), "\(userInURL.output)")
        #expect(!userInURL.output.contains("secret"), "\(userInURL.output)")

        // Addresses with credentials that fail for another reason too: a path, a character URL parsers reject,
        // a scheme other than http(s), or a password with a slash in it. None may print the password.
        let leakyAddresses = [
            "https://admin:secret@127.0.0.1:1/admin", "https://admin:sec ret@127.0.0.1:1",
            "ftp://admin:secret@127.0.0.1:1", "https://admin:sec/ret@127.0.0.1:1",
        ]
        for address in leakyAddresses {
            let run = try dcfctl(["list", "--server", address], server: nil, fixture: fixture)
            #expect(run.status == 64, "\(address): \(run.output)")
            #expect(!run.output.contains("secret"), "\(address): \(run.output)")
            #expect(!run.output.contains("sec ret"), "\(address): \(run.output)")
            #expect(!run.output.contains("ret@"), "\(address): \(run.output)")
        }
        let leakyVariable = try dcfctl(
            ["list"], server: nil, fixture: fixture,
            environment: credentials.merging(["DCF_SERVER_URL": "https://admin:secret@127.0.0.1:1/x"]) { $1 })
        #expect(leakyVariable.status == 64, "\(leakyVariable.output)")
        #expect(!leakyVariable.output.contains("secret"), "\(leakyVariable.output)")

        let query = try dcfctl(["list", "--server", "https://127.0.0.1:1/?token=1"], server: nil, fixture: fixture)
        #expect(query.status == 64, "\(query.output)")
        #expect(query.output.contains("query"), "\(query.output)")

        let colonInName = try dcfctl(
            ["list", "--server", "https://127.0.0.1:1"], server: nil, fixture: fixture,
            environment: credentials.merging(["DCF_SERVER_ADMIN_USERNAME": "ad:min"]) { $1 })
        #expect(colonInName.status == 64, "\(colonInName.output)")
        #expect(colonInName.output.contains("colon"), "\(colonInName.output)")

        // A username written as 'username:password', the credentials file's form, contains the password, so the
        // message must not quote it.
        let passwordInName = try dcfctl(
            ["list", "--server", "https://127.0.0.1:1"], server: nil, fixture: fixture,
            environment: credentials.merging(["DCF_SERVER_ADMIN_USERNAME": "admin:secret"]) { $1 })
        #expect(passwordInName.status == 64, "\(passwordInName.output)")
        #expect(passwordInName.output.contains("colon"), "\(passwordInName.output)")
        #expect(!passwordInName.output.contains("secret"), "\(passwordInName.output)")

        let certificate = fixture.certificates.client.certificateFile
        let key = fixture.certificates.client.privateKeyFile
        let plainWithCertificate = try dcfctl(
            ["list", "--server", "http://127.0.0.1:1", "--client-certificate", certificate, "--client-key", key],
            server: nil, fixture: fixture)
        #expect(plainWithCertificate.status == 64, "\(plainWithCertificate.output)")
        #expect(plainWithCertificate.output.contains("https://"), "\(plainWithCertificate.output)")

        // A --client-key given on the command line is not ignored either when the certificate comes from the
        // environment, and an address from DCF_SERVER_URL is named as such.
        let plainWithKeyOption = try dcfctl(
            ["list", "--client-key", key], server: nil, fixture: fixture,
            environment: credentials.merging([
                "DCF_SERVER_URL": "http://127.0.0.1:1", "DCF_CLIENT_CERTIFICATE": certificate,
            ]) { $1 })
        #expect(plainWithKeyOption.status == 64, "\(plainWithKeyOption.output)")
        #expect(plainWithKeyOption.output.contains("--client-key works only"), "\(plainWithKeyOption.output)")
        #expect(
            plainWithKeyOption.output.contains("https:// address in DCF_SERVER_URL or leave out --client-key"),
            "\(plainWithKeyOption.output)")

        // A CA file given on the command line is used only with TLS, so with http:// it is a mistake too.
        let plainWithCAFile = try dcfctl(
            ["list", "--server", "http://127.0.0.1:1", "--ca-file", fixture.certificates.ca.certificateFile],
            server: nil, fixture: fixture)
        #expect(plainWithCAFile.status == 64, "\(plainWithCAFile.output)")
        #expect(plainWithCAFile.output.contains("--ca-file works only"), "\(plainWithCAFile.output)")
    }

    /// A server that cannot serve the request now (here: past its connection limit, 503) is an unavailable
    /// service, 69, not a request it rejected, 65.
    @Test func overloadedServerExitsUnavailable() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch(["--limits.max_connections=1"])
        defer { server.process.terminate(signal: SIGKILL) }
        // This connection takes the one place, so the server responds 503 to the next connection's request.
        let held = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(held) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(server.port)).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(held, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(connected == 0)

        // Until the server has accepted the held connection, a request can still get through.
        var overloaded = try dcfctl(["list"], server: server, fixture: fixture)
        for _ in 0..<50 where overloaded.status == 0 {
            usleep(100_000)
            overloaded = try dcfctl(["list"], server: server, fixture: fixture)
        }
        #expect(overloaded.status == 69, "\(overloaded.output)")
        #expect(overloaded.output.contains("503"), "\(overloaded.output)")
    }

    /// A 429 that is not the server's login block, such as a proxy's rate limit, is a service to try again
    /// later, 69, not a rejected request, 65.
    @Test func rateLimitedByProxyExitsUnavailable() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let proxy = try CannedResponseServer(
            status: "429 Too Many Requests", contentType: "text/plain", body: "slow down\n")
        defer { proxy.stop() }
        let run = try dcfctl(["status", "--server", "http://127.0.0.1:\(proxy.port)"], server: nil, fixture: fixture)
        #expect(run.status == 69, "\(run.output)")
        #expect(run.output.contains("429"), "\(run.output)")
        #expect(run.output.contains("try again later"), "\(run.output)")
    }

    /// A 408 `request_timeout`, sent when the request did not arrive in time, is worth trying again: 69.
    @Test func requestTimeoutExitsUnavailable() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try CannedResponseServer(
            status: "408 Request Timeout",
            body: #"{"error":{"code":"request_timeout","message":"request head not received within 15s"}}"#)
        defer { server.stop() }
        let run = try dcfctl(["status", "--server", "http://127.0.0.1:\(server.port)"], server: nil, fixture: fixture)
        #expect(run.status == 69, "\(run.output)")
        #expect(run.output.contains("request_timeout"), "\(run.output)")
        #expect(run.output.contains("try again later"), "\(run.output)")
    }

    /// A reply that is not the admin API's names the setting that chose the address, here the variable.
    @Test func foreignServerNamesAddressVariable() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try CannedResponseServer(status: "200 OK", contentType: "text/plain", body: "hello\n")
        defer { server.stop() }
        let run = try dcfctl(
            ["status"], server: nil, fixture: fixture,
            environment: [
                "DCF_SERVER_ADMIN_USERNAME": ServerdFixture.adminUser,
                "DCF_SERVER_ADMIN_PASSWORD": ServerdFixture.adminPassword,
                "DCF_SERVER_URL": "http://127.0.0.1:\(server.port)",
            ])
        #expect(run.status == 1, "\(run.output)")
        #expect(run.output.contains("check DCF_SERVER_URL"), "\(run.output)")
        #expect(!run.output.contains("--server"), "\(run.output)")
    }

    @Test func blockedAddressExitsDenied() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }
        let wrong = ["DCF_SERVER_ADMIN_USERNAME": ServerdFixture.adminUser, "DCF_SERVER_ADMIN_PASSWORD": "guess"]
        for _ in 0..<10 {
            let denied = try dcfctl(["status"], server: server, fixture: fixture, environment: wrong)
            #expect(denied.status == 77, "\(denied.output)")
        }
        let blocked = try dcfctl(["status"], server: server, fixture: fixture)
        #expect(blocked.status == 77, "\(blocked.output)")
        #expect(blocked.output.contains("too_many_login_failures"), "\(blocked.output)")
        #expect(blocked.output.contains("try again in"), "\(blocked.output)")
    }

    /// A server with `tls.client_ca` completes the handshake only with a client certificate from that CA, so
    /// dcfctl needs one to reach the admin API at all.
    @Test func mutualTLSNeedsClientCertificate() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let server = try fixture.launch(["--tls-client-ca", fixture.certificates.ca.certificateFile])
        defer { server.process.terminate(signal: SIGKILL) }
        let client = fixture.certificates.client

        let without = try dcfctl(["status"], server: server, fixture: fixture)
        #expect(without.status == 69, "\(without.output)")
        #expect(without.output.contains("pass --client-certificate and --client-key"), "\(without.output)")

        let with = try dcfctl(
            ["status", "--client-certificate", client.certificateFile, "--client-key", client.privateKeyFile],
            server: server, fixture: fixture)
        #expect(with.status == 0, "\(with.output)")
        #expect(with.output.contains("model version:"), "\(with.output)")

        let fromEnvironment = try dcfctl(
            ["list"], server: server, fixture: fixture,
            environment: [
                "DCF_SERVER_ADMIN_USERNAME": ServerdFixture.adminUser,
                "DCF_SERVER_ADMIN_PASSWORD": ServerdFixture.adminPassword,
                "DCF_CLIENT_CERTIFICATE": client.certificateFile, "DCF_CLIENT_KEY": client.privateKeyFile,
            ])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.output)")

        let certificateOnly = try dcfctl(
            ["status", "--client-certificate", client.certificateFile], server: server, fixture: fixture)
        #expect(certificateOnly.status == 64, "\(certificateOnly.output)")
        #expect(certificateOnly.output.contains("--client-certificate needs --client-key"), "\(certificateOnly.output)")

        let missingKey = fixture.directory.file("absent.key")
        let unreadable = try dcfctl(
            ["status", "--client-certificate", client.certificateFile, "--client-key", missingKey],
            server: server, fixture: fixture)
        #expect(unreadable.status == 66, "\(unreadable.output)")
        #expect(unreadable.output.contains(missingKey), "\(unreadable.output)")
    }

    /// A bracketed IPv6 literal reaches the address itself; the error names it once, in brackets. Nothing of the
    /// tests listens on port 1, so the connection fails after the address was used.
    @Test func ipv6ServerAddress() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let run = try dcfctl(["status", "--server", "https://[::1]:1"], server: nil, fixture: fixture)
        #expect(run.status == 69, "\(run.output)")
        #expect(run.output.contains("request to [::1]:1 failed"), "\(run.output)")
        #expect(!run.output.contains("[[::1]]"), "\(run.output)")
        #expect(!run.output.contains("host name lookup failed"), "\(run.output)")

        for address in ["https://::1:8443", "https://fe80::1%25lo:8443", "::1"] {
            let unbracketed = try dcfctl(["status", "--server", address], server: nil, fixture: fixture)
            #expect(unbracketed.status == 64, "\(unbracketed.output)")
            #expect(unbracketed.output.contains("write an IPv6 address in brackets"), "\(unbracketed.output)")
        }
        let hostName = try dcfctl(["status", "--server", "https://host name"], server: nil, fixture: fixture)
        #expect(hostName.status == 64, "\(hostName.output)")
        #expect(!hostName.output.contains("IPv6"), "\(hostName.output)")
    }

    /// The hint to pass a client certificate follows only the failures that a server requiring one causes. A
    /// certificate the server rejects points at the certificate options, and the message for a plain-HTTP address does
    /// not name a CA file.
    @Test func connectionFailureHints() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let caFile = fixture.certificates.ca.certificateFile
        // Closed right after the accept: the TLS handshake fails before any certificate is exchanged.
        let closing = try CannedResponseServer(response: [])
        defer { closing.stop() }
        let closed = try dcfctl(
            ["status", "--server", "https://127.0.0.1:\(closing.port)", "--ca-file", caFile],
            server: nil, fixture: fixture)
        #expect(closed.status == 69, "\(closed.output)")
        #expect(closed.output.contains("while performing the TLS handshake"), "\(closed.output)")
        #expect(!closed.output.contains("--client-certificate"), "\(closed.output)")

        let plain = try dcfctl(
            ["status", "--server", "http://127.0.0.1:\(closing.port)"], server: nil, fixture: fixture)
        #expect(plain.status == 69, "\(plain.output)")
        #expect(plain.output.contains("check --server"), "\(plain.output)")
        #expect(!plain.output.contains("--ca-file"), "\(plain.output)")

        // A plain HTTP server behind an https:// address: the handshake fails on its plaintext reply.
        let plainServer = try CannedResponseServer(
            status: "400 Bad Request", contentType: "text/plain", body: "no\n", waitsForRequestHead: false)
        defer { plainServer.stop() }
        let notTLS = try dcfctl(
            ["status", "--server", "https://127.0.0.1:\(plainServer.port)", "--ca-file", caFile],
            server: nil, fixture: fixture)
        #expect(notTLS.status == 69, "\(notTLS.output)")
        #expect(notTLS.output.contains("use http://"), "\(notTLS.output)")

        let server = try fixture.launch(["--tls-client-ca", fixture.certificates.ca.certificateFile])
        defer { server.process.terminate(signal: SIGKILL) }
        // A certificate from another CA: the server ends the connection, or sends an alert, once it checks it.
        let foreign = fixture.certificates.foreignClient
        let rejected = try dcfctl(
            ["status", "--client-certificate", foreign.certificateFile, "--client-key", foreign.privateKeyFile],
            server: server, fixture: fixture)
        #expect(rejected.status == 69, "\(rejected.output)")
        #expect(rejected.output.contains("check --client-certificate and --client-key"), "\(rejected.output)")
        #expect(rejected.output.contains("tls.client_ca"), "\(rejected.output)")
    }

    /// A server that is not dcf-serverd, or a hostile one, cannot drive the terminal through dcfctl: control
    /// characters in its error messages, worker entries and status fields are printed as escapes.
    @Test func serverControlCharactersEscaped() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let clear = "\\u001b[2J"
        let cases: [(command: String, status: String, contentType: String, body: String, shown: String)] = [
            ("list", "400 Bad Request", "application/json",
             #"{"error":{"code":"bad_request","message":"a\#(clear)b\nforged line"}}"#, "a\\u{1B}[2Jb\\nforged"),
            ("list", "404 Not Found", "text/plain", "no \u{1B}[2J such page\n", "no \\u{1B}[2J such"),
            ("list", "200 OK", "application/json",
             #"[{"worker_id":"abcdef01","public_key_str":"k\#(clear)","registered":true,"status":"s\#(clear)","#
                + #""source":"admin\r\nforged line"}]"#, "admin\\r\\nforged"),
            ("list", "200 OK", "application/json",
             #"[{"worker_id":"\#(clear)","public_key_str":"k","registered":true,"status":"s","source":"s"}]"#,
             "invalid worker id \"\\u{1B}[2J"),
            ("status", "200 OK", "application/json",
             #"{"registered_workers":0,"known_workers":0,"waiting_workers":0,"admission_mode":"safe\#(clear)","#
                + #""round":{"key\#(clear)":1}}"#, "safe\\u{1B}[2J"),
        ]
        for (command, status, contentType, body, shown) in cases {
            let server = try CannedResponseServer(status: status, contentType: contentType, body: body)
            defer { server.stop() }
            let run = try dcfctl(
                [command, "--server", "http://127.0.0.1:\(server.port)"], server: nil, fixture: fixture)
            let controlCharacters = run.output.unicodeScalars.filter { $0.value < 0x20 && $0 != "\n" }
            #expect(controlCharacters.isEmpty, "\(run.output.debugDescription)")
            #expect(!run.output.contains("\nforged line"), "\(run.output.debugDescription)")
            #expect(run.output.contains(shown), "\(run.output.debugDescription)")
        }
    }

    /// In unsafe mode the server assigns ids, and each registration of a key adds a worker, so one key can
    /// match several workers. The agent logs its key's first 8 digits, so those are accepted too.
    @Test func workerIDPrefixes() async throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let safeConfig = try String(contentsOfFile: fixture.configFile, encoding: .utf8)
        try ServerdFixture.write(
            safeConfig.replacingOccurrences(of: "key_list = \"\(fixture.keyListFile)\"", with: "unsafe_mode = true"),
            to: fixture.configFile)
        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }
        let twiceKey = try fixture.publicKeyHex(0)
        let onceKey = try fixture.publicKeyHex(1)
        let first = try await server.worker(keyFile: fixture.workerKeyFiles[0]).registerWorker()
        let second = try await server.worker(keyFile: fixture.workerKeyFiles[0]).registerWorker()
        let once = try await server.worker(keyFile: fixture.workerKeyFiles[1]).registerWorker()
        try #require(first != second)

        let ambiguous = try dcfctl(["disable", String(twiceKey.prefix(8))], server: server, fixture: fixture)
        #expect(ambiguous.status == 64, "\(ambiguous.output)")
        #expect(ambiguous.output.contains(first.rawValue), "\(ambiguous.output)")
        #expect(ambiguous.output.contains(second.rawValue), "\(ambiguous.output)")
        #expect(try server.workers().allSatisfy(\.registered))

        let byKey = try dcfctl(["disable", String(onceKey.prefix(8))], server: server, fixture: fixture)
        #expect(byKey.status == 0, "\(byKey.output)")
        #expect(byKey.output.contains("disabled worker \(once.rawValue)"), "\(byKey.output)")
        #expect(try server.workers().first { $0.workerID == once }?.registered == false)

        let byID = try dcfctl(["enable", once.short], server: server, fixture: fixture)
        #expect(byID.status == 0, "\(byID.output)")
        #expect(try server.workers().first { $0.workerID == once }?.registered == true)

        let unknownPrefix = try unmatchedPrefix(of: [first, second, once], keys: [twiceKey, onceKey])
        let noMatch = try dcfctl(["remove", unknownPrefix], server: server, fixture: fixture)
        #expect(noMatch.status == 65, "\(noMatch.output)")
        #expect(noMatch.output.contains("no worker id or public key starts with \"\(unknownPrefix)\""), "\(noMatch.output)")
        #expect(noMatch.output.contains("dcfctl list"), "\(noMatch.output)")

        let full = try dcfctl(["remove", first.rawValue.uppercased()], server: server, fixture: fixture)
        #expect(full.status == 0, "\(full.output)")
        #expect(full.output.contains("removed worker \(first.rawValue)"), "\(full.output)")
        #expect(try server.workers().count == 2)
    }

    /// Returns 8 hex digits that start none of `ids` and `keys`.
    private func unmatchedPrefix(of ids: [WorkerID], keys: [String]) throws -> String {
        let usedPrefixes = Set(ids.map(\.short) + keys.map { String($0.prefix(8)) })
        for digit in "0123456789abcdef" {
            let candidate = String(repeating: digit, count: 8)
            if !usedPrefixes.contains(candidate) { return candidate }
        }
        throw ServerdTestError("every candidate prefix starts an id or a key")
    }

    @Test func helpListsCommands() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let help = try dcfctl(["--help"], server: nil, fixture: fixture)
        #expect(help.status == 0)
        #expect(help.output.contains("prefix of at least 8 hex digits"), "\(help.output)")
        // The exit statuses are dcfctl's own, as in the table of docs/operations.md, not the daemons' list.
        let flattened = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flattened.contains("1 the reply is not the admin API's"), "\(help.output)")
        #expect(flattened.contains("66 a file named on the command line"), "\(help.output)")
        for unused in ["73 ", "74 ", "78 "] {
            #expect(!flattened.contains(unused), "\(unused)in \(help.output)")
        }
        for command in ["list", "add", "remove", "enable", "disable", "status"] {
            #expect(help.output.contains("  \(command) "), "missing \(command) in \(help.output)")
        }
        let addHelp = try dcfctl(["add", "--help"], server: nil, fixture: fixture)
        #expect(addHelp.output.contains("--ca-file"))
        #expect(addHelp.output.contains("--credentials-file"))
        #expect(addHelp.output.contains("--client-certificate"))
        #expect(addHelp.output.contains("--client-key"))
    }
}
