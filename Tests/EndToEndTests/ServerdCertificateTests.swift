// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import TestSupport

/// `dcf-serverd` warns at start-up when its own certificate has expired, because every agent will reject it.
@Suite struct ServerdCertificateTests {
    @Test func expiredCertificateIsLoggedAtStartup() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        try FileManager.default.removeItem(atPath: fixture.certificateFile)
        try FileManager.default.removeItem(atPath: fixture.privateKeyFile)
        try FileManager.default.copyItem(
            atPath: fixture.certificates.expiredServer.certificateFile, toPath: fixture.certificateFile)
        try FileManager.default.copyItem(
            atPath: fixture.certificates.expiredServer.privateKeyFile, toPath: fixture.privateKeyFile)

        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"), arguments: ["run", "--config", fixture.configFile],
            logFile: fixture.directory.file("expired.log"))
        defer { process.terminate() }
        let line = try process.waitForLine(containing: "listening", timeout: 60)
        #expect(line.contains("listening"))
        #expect(process.output.contains("the server certificate has expired"), "\(process.output)")
    }

    @Test func validCertificateIsNotReportedExpired() throws {
        let fixture = try ServerdFixture()
        defer { fixture.remove() }
        let process = try LaunchedProcess(
            executable: try BuiltProducts.path("dcf-serverd"), arguments: ["run", "--config", fixture.configFile],
            logFile: fixture.directory.file("valid.log"))
        defer { process.terminate() }
        _ = try process.waitForLine(containing: "listening", timeout: 60)
        #expect(!process.output.contains("has expired"), "\(process.output)")
    }
}
