// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import TestSupport
import DCFTransport

@Suite struct TLSContextTests {
    private func constructionError(_ configuration: TLSConfiguration) -> TLSError? {
        do {
            _ = try TLSContext(configuration: configuration)
            return nil
        } catch let error as TLSError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    @Test func missingCertificateFileIsNamed() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let missing = certificates.directory.file("absent.pem")
        let error = try #require(constructionError(
            .server(certificateChainFile: missing, privateKeyFile: certificates.server.privateKeyFile)
        ))
        #expect(error.description.contains("certificate chain file not found"))
        #expect(error.description.contains(missing))
    }

    @Test func mismatchedKeyNamesBothFiles() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let error = try #require(constructionError(
            .server(
                certificateChainFile: certificates.server.certificateFile,
                privateKeyFile: certificates.client.privateKeyFile
            )
        ))
        #expect(error.description.contains("does not match"))
        #expect(error.description.contains(certificates.server.certificateFile))
        #expect(error.description.contains(certificates.client.privateKeyFile))
    }

    @Test func unreadableCAFileIsNamed() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let garbage = certificates.directory.file("garbage-ca.pem")
        try "not a certificate\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        let error = try #require(constructionError(.client(trustedCAFile: garbage)))
        #expect(error.description.contains("cannot read CA certificates"))
        #expect(error.description.contains(garbage))
    }

    @Test func missingCAFileIsNamed() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let missing = certificates.directory.file("no-ca.pem")
        let error = try #require(constructionError(.client(trustedCAFile: missing)))
        #expect(error.description.contains("CA certificate file not found"))
        #expect(error.description.contains(missing))
    }

    @Test func invalidCertificateFileIsNamed() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let error = try #require(constructionError(
            .server(
                certificateChainFile: certificates.server.privateKeyFile,
                privateKeyFile: certificates.server.privateKeyFile
            )
        ))
        #expect(error.description.contains("cannot load certificate chain"))
        #expect(error.description.contains(certificates.server.privateKeyFile))
    }

    @Test func mutualServerWithoutCAFileIsRejected() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        var configuration = TLSConfiguration.server(
            certificateChainFile: certificates.server.certificateFile,
            privateKeyFile: certificates.server.privateKeyFile
        )
        configuration.clientCertificateVerification = .required
        let error = try #require(constructionError(configuration))
        #expect(error.description.contains("trustedCAFile"))
    }
}
