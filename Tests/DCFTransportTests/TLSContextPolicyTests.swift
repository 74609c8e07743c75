// SPDX-License-Identifier: Apache-2.0
import DCFTransport
import Foundation
import TestSupport
import Testing

/// Checks of a context's client certificate policy, which tells a reload whether open connections met the same
/// checks, and of its certificate summary, which names the certificate it serves.
@Suite struct TLSContextPolicyTests {
    private func mutual(
        _ certificates: CertificateFactory, caFile: String, verification: TLSConfiguration.ClientCertificateVerification
    ) throws -> TLSContext {
        try TLSContext(
            configuration: .mutualTLSServer(
                certificateChainFile: certificates.server.certificateFile,
                privateKeyFile: certificates.server.privateKeyFile, clientCAFile: caFile, verification: verification))
    }

    @Test func replacingOnlyTheCertificateKeepsThePolicy() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let first = try TLSContext(
            configuration: .server(
                certificateChainFile: certificates.server.certificateFile,
                privateKeyFile: certificates.server.privateKeyFile))
        let second = try TLSContext(
            configuration: .server(
                certificateChainFile: certificates.expiredServer.certificateFile,
                privateKeyFile: certificates.expiredServer.privateKeyFile))
        #expect(first.clientCertificatePolicy == second.clientCertificatePolicy)
        let ca = certificates.ca.certificateFile
        #expect(
            try mutual(certificates, caFile: ca, verification: .required).clientCertificatePolicy
                == mutual(certificates, caFile: ca, verification: .required).clientCertificatePolicy)
    }

    @Test func verificationModeAndCAContentChangeThePolicy() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let caFile = certificates.directory.file("client-ca-copy.pem")
        try FileManager.default.copyItem(atPath: certificates.ca.certificateFile, toPath: caFile)
        let optional = try mutual(certificates, caFile: caFile, verification: .optional).clientCertificatePolicy
        let required = try mutual(certificates, caFile: caFile, verification: .required).clientCertificatePolicy
        #expect(optional != required)
        let serverOnly = try TLSContext(
            configuration: .server(
                certificateChainFile: certificates.server.certificateFile,
                privateKeyFile: certificates.server.privateKeyFile))
        #expect(serverOnly.clientCertificatePolicy != required)

        // The same path with other certificates in it is another policy.
        try FileManager.default.removeItem(atPath: caFile)
        try FileManager.default.copyItem(atPath: certificates.foreignCA.certificateFile, toPath: caFile)
        let replacedCA = try mutual(certificates, caFile: caFile, verification: .required).clientCertificatePolicy
        #expect(replacedCA.caFile == required.caFile)
        #expect(replacedCA != required)
    }

    @Test func summaryNamesSubjectExpiryAndFingerprint() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let context = try TLSContext(
            configuration: .server(
                certificateChainFile: certificates.expiredServer.certificateFile,
                privateKeyFile: certificates.expiredServer.privateKeyFile))
        let summary = try #require(context.certificateSummary)
        #expect(summary.subject == "/CN=expired")
        #expect(summary.notAfter == "2020-01-02T00:00:00Z")
        #expect(summary.sha256Fingerprint == (try opensslFingerprint(certificates.expiredServer.certificateFile)))
    }

    /// Returns the fingerprint that `openssl x509 -fingerprint -sha256` prints for `file`.
    private func opensslFingerprint(_ file: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", file]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let line = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return String(line.split(separator: "=", maxSplits: 1).last ?? "")
    }
}
