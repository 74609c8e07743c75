// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// `scripts/gen-certs.sh` run the way operations.md and its help describe: once for the CA and the server
/// certificate, then again to add client certificates under the same CA.
@Suite struct GenCertsScriptTests {
    private func genCerts(_ arguments: [String], in directory: TemporaryDirectory) throws -> (status: Int32, output: String) {
        let script = BuiltProducts.packageRoot.appendingPathComponent("scripts/gen-certs.sh").path
        let process = try LaunchedProcess(
            executable: "/bin/sh", arguments: [script] + arguments,
            logFile: directory.file("gen-certs-\(UUID().uuidString).log"))
        let status = process.waitForExit()
        return (status, process.output)
    }

    private func contents(_ path: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path))
    }

    @Test func clientAddedKeepsServerCertificate() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let tls = directory.file("tls")
        let first = try genCerts([tls, "127.0.0.1", "aggregator.example"], in: directory)
        #expect(first.status == 0, "\(first.output)")
        let serverCertificate = try contents(tls + "/server.pem")
        let serverKey = try contents(tls + "/server.key")

        let client = try genCerts([tls, "--client", "site2"], in: directory)
        #expect(client.status == 0, "\(client.output)")
        #expect(client.output.contains("keeping \(tls)/server.pem"), "\(client.output)")
        #expect(FileManager.default.fileExists(atPath: tls + "/client-site2.pem"), "\(client.output)")
        #expect(try contents(tls + "/server.pem") == serverCertificate)
        #expect(try contents(tls + "/server.key") == serverKey)

        // Renewing a client certificate with --force must not replace the server certificate either, which
        // would swap its host names for the defaults.
        let renewed = try genCerts(["--force", tls, "--client", "site2"], in: directory)
        #expect(renewed.status == 0, "\(renewed.output)")
        #expect(try contents(tls + "/server.pem") == serverCertificate)

        let clientAgain = try genCerts([tls, "--client", "site2"], in: directory)
        #expect(clientAgain.status == 1, "\(clientAgain.output)")
        #expect(clientAgain.output.contains("pass --force"), "\(clientAgain.output)")
    }

    @Test func namedHostsNeedForceToRenew() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let tls = directory.file("tls")
        #expect(try genCerts([tls, "127.0.0.1"], in: directory).status == 0)
        let serverCertificate = try contents(tls + "/server.pem")

        let again = try genCerts([tls, "127.0.0.1"], in: directory)
        #expect(again.status == 1, "\(again.output)")
        #expect(again.output.contains("'\(tls)/server.pem' exists; pass --force"), "\(again.output)")
        #expect(try contents(tls + "/server.pem") == serverCertificate)

        let forced = try genCerts(["--force", tls, "127.0.0.1"], in: directory)
        #expect(forced.status == 0, "\(forced.output)")
        #expect(try contents(tls + "/server.pem") != serverCertificate)
    }

    /// A key file without its certificate, such as one left from an earlier run or copied in by hand, is not
    /// overwritten without --force either, and the refused run writes no other file.
    @Test func existingKeysNeedForce() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let tls = directory.file("tls")
        try FileManager.default.createDirectory(atPath: tls, withIntermediateDirectories: true)
        let keep = Data("kept key\n".utf8)
        for name in ["server.key", "ca.key"] {
            try keep.write(to: URL(fileURLWithPath: tls + "/" + name))
        }

        let rejected = try genCerts([tls, "127.0.0.1"], in: directory)
        #expect(rejected.status == 1, "\(rejected.output)")
        #expect(rejected.output.contains("'\(tls)/ca.key' exists; pass --force"), "\(rejected.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tls).sorted() == ["ca.key", "server.key"])

        try FileManager.default.removeItem(atPath: tls + "/ca.key")
        let serverKey = try genCerts([tls, "127.0.0.1"], in: directory)
        #expect(serverKey.status == 1, "\(serverKey.output)")
        #expect(serverKey.output.contains("'\(tls)/server.key' exists; pass --force"), "\(serverKey.output)")
        #expect(try contents(tls + "/server.key") == keep)
        #expect(!FileManager.default.fileExists(atPath: tls + "/ca.pem"))

        let clientKey = tls + "/client-site1.key"
        try keep.write(to: URL(fileURLWithPath: clientKey))
        try FileManager.default.removeItem(atPath: tls + "/server.key")
        let client = try genCerts([tls, "--client", "site1"], in: directory)
        #expect(client.status == 1, "\(client.output)")
        #expect(client.output.contains("'\(clientKey)' exists; pass --force"), "\(client.output)")
        #expect(try contents(clientKey) == keep)

        let forced = try genCerts(["--force", tls, "--client", "site1"], in: directory)
        #expect(forced.status == 0, "\(forced.output)")
        #expect(try contents(clientKey) != keep)
    }

    /// Usage errors exit 64 (EX_USAGE), as in the other scripts, and nothing is written.
    @Test func usageErrorsExit64() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let tls = directory.file("tls")
        let cases = [
            ["--bogus", tls], [tls, "--client"], [tls, "--days"], ["--ca-days"], [], [tls, "--days", "ten"],
            [tls, "--client", "a/b"],
        ]
        for arguments in cases {
            let result = try genCerts(arguments, in: directory)
            #expect(result.status == 64, "\(arguments): \(result.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: tls))
        let help = try genCerts(["--help"], in: directory)
        #expect(help.status == 0, "\(help.output)")
        #expect(help.output.contains("64 on an invalid option"), "\(help.output)")
    }
}
