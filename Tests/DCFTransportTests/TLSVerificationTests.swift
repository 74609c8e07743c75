// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import TestSupport
@testable import DCFTransport

@Suite struct TLSVerificationTests {
    enum BadServer: String, CaseIterable {
        case expired, selfSigned, wrongHost
    }

    @Test(arguments: BadServer.allCases)
    func clientRejectsBadServerCertificate(_ kind: BadServer) throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let identity: CertificateFactory.Identity
        let expected: TLSError.VerificationFailure
        let expectedText: String
        switch kind {
        case .expired:
            (identity, expected, expectedText) = (certificates.expiredServer, .expired, "certificate expired")
        case .selfSigned:
            (identity, expected, expectedText) = (certificates.selfSignedServer, .unknownIssuer, "unknown issuer")
        case .wrongHost:
            (identity, expected, expectedText) =
                (certificates.wrongHostServer, .hostNameMismatch(expected: "localhost"), "host name mismatch")
        }
        let sessions = try TLSConnectedSessions(
            client: .client(trustedCAFile: certificates.ca.certificateFile),
            server: certificates.serverConfiguration(identity)
        )
        defer { sessions.sockets.close() }

        let outcome = runHandshake(client: sessions.client, server: sessions.server)
        guard case .failed(let error) = outcome.client else {
            Issue.record("client handshake should fail, got \(outcome.client)")
            return
        }
        #expect(error.verificationFailure == expected)
        #expect(error.description.contains(expectedText))
    }

    @Test func clientRejectsWrongIPAddress() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let sessions = try TLSConnectedSessions(
            client: .client(trustedCAFile: certificates.ca.certificateFile),
            server: certificates.serverConfiguration(certificates.server),
            serverName: "127.0.0.2"
        )
        defer { sessions.sockets.close() }
        let outcome = runHandshake(client: sessions.client, server: sessions.server)
        guard case .failed(let error) = outcome.client else {
            Issue.record("client handshake should fail, got \(outcome.client)")
            return
        }
        #expect(error.verificationFailure == .hostNameMismatch(expected: "127.0.0.2"))
    }

    @Test func clientAcceptsIPAddressInSubjectAltName() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let sessions = try TLSConnectedSessions(
            client: .client(trustedCAFile: certificates.ca.certificateFile),
            server: certificates.serverConfiguration(certificates.server),
            serverName: "127.0.0.1"
        )
        defer { sessions.sockets.close() }
        #expect(runHandshake(client: sessions.client, server: sessions.server).client == .done(0))
    }

    @Test func clientWithoutCAFileUsesSystemStore() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let sessions = try TLSConnectedSessions(
            client: .client(), server: certificates.serverConfiguration(certificates.server)
        )
        defer { sessions.sockets.close() }
        let outcome = runHandshake(client: sessions.client, server: sessions.server)
        guard case .failed(let error) = outcome.client else {
            Issue.record("the test CA is not in the system store, got \(outcome.client)")
            return
        }
        #expect(error.verificationFailure == .unknownIssuer)
    }
}
