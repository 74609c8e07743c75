// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import Testing

/// dcf-serverd warns at start when a file with a secret that it reads (the TLS private key, the admin
/// credentials) is readable or writable by other users, and names the file and the `chmod` that fixes it.
@Suite struct ServerdFileModeTests {
    private func setMode(_ mode: Int, _ path: String) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    private func warnings(in output: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { $0.contains(" warning ") && $0.contains("chmod") }
    }

    @Test func otherReadableFilesWarn() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let credentials = fixture.directory.file("admin.credentials")
        try setMode(0o644, fixture.privateKeyFile)
        try setMode(0o602, credentials)

        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }
        #expect(try server.stop() == 0)
        let lines = warnings(in: server.process.output)
        #expect(lines.count == 2, "\(lines)")
        let key = lines.first { $0.contains(fixture.privateKeyFile) }
        #expect(key?.contains("tls.private_key") == true, "\(lines)")
        #expect(key?.contains("0644") == true, "\(lines)")
        #expect(key?.contains("chmod o-rwx \(fixture.privateKeyFile)") == true, "\(lines)")
        let admin = lines.first { $0.contains(credentials) }
        #expect(admin?.contains("admin.credentials_file") == true, "\(lines)")
        #expect(admin?.contains("0602") == true, "\(lines)")
        #expect(admin?.contains("chmod o-rwx \(credentials)") == true, "\(lines)")
    }

    /// Debian gives private keys mode 0640 and the `ssl-cert` group, so group bits alone get no warning.
    @Test func groupReadableFilesDoNotWarn() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        try setMode(0o640, fixture.privateKeyFile)
        try setMode(0o640, fixture.directory.file("admin.credentials"))

        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }
        #expect(try server.stop() == 0)
        #expect(warnings(in: server.process.output).isEmpty, "\(server.process.output)")
    }

    /// The fixture's own files must not trigger the warning, or every other test would log it.
    @Test func fixtureFilesDoNotWarn() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }

        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }
        #expect(try server.stop() == 0)
        #expect(warnings(in: server.process.output).isEmpty, "\(server.process.output)")
    }

    /// A reload reads the TLS private key again, so it checks the key's mode again.
    @Test func reloadWarnsForTLSKey() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }

        let server = try fixture.launch()
        defer { server.process.terminate(signal: SIGKILL) }
        try setMode(0o604, fixture.privateKeyFile)
        kill(server.process.pid, SIGHUP)
        let line = try server.process.waitForLine(containing: "chmod o-rwx \(fixture.privateKeyFile)")
        #expect(line.contains(" warning "), "\(line)")
        #expect(line.contains(fixture.privateKeyFile), "\(line)")
        #expect(try server.stop() == 0)
    }
}
