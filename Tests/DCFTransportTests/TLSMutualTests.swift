// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import TestSupport
@testable import DCFTransport

@Suite struct TLSMutualTests {
    private func mutualServer(
        _ certificates: CertificateFactory, verification: TLSConfiguration.ClientCertificateVerification = .required
    ) -> TLSConfiguration {
        .mutualTLSServer(
            certificateChainFile: certificates.server.certificateFile,
            privateKeyFile: certificates.server.privateKeyFile,
            clientCAFile: certificates.ca.certificateFile,
            verification: verification
        )
    }

    private func client(
        _ certificates: CertificateFactory, identity: CertificateFactory.Identity?
    ) -> TLSConfiguration {
        .client(
            trustedCAFile: certificates.ca.certificateFile,
            certificateChainFile: identity?.certificateFile,
            privateKeyFile: identity?.privateKeyFile
        )
    }

    @Test func serverAcceptsClientSignedByCA() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let sessions = try TLSConnectedSessions(
            client: client(certificates, identity: certificates.client), server: mutualServer(certificates)
        )
        defer { sessions.sockets.close() }
        let outcome = runHandshake(client: sessions.client, server: sessions.server)
        #expect(outcome.client == .done(0))
        #expect(outcome.server == .done(0))
        #expect(sessions.server.peerCertificateSubject == "/CN=client")
    }

    @Test func serverRejectsMissingClientCertificate() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let sessions = try TLSConnectedSessions(
            client: client(certificates, identity: nil), server: mutualServer(certificates)
        )
        defer { sessions.sockets.close() }
        let outcome = runHandshake(client: sessions.client, server: sessions.server)
        guard case .failed(let error) = outcome.server else {
            Issue.record("server handshake should fail, got \(outcome.server)")
            return
        }
        #expect(error.verificationFailure == .noPeerCertificate)
        #expect(error.description.contains("peer sent no certificate"))
    }

    @Test func serverRejectsForeignClientCertificate() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let sessions = try TLSConnectedSessions(
            client: client(certificates, identity: certificates.foreignClient), server: mutualServer(certificates)
        )
        defer { sessions.sockets.close() }
        let outcome = runHandshake(client: sessions.client, server: sessions.server)
        guard case .failed(let error) = outcome.server else {
            Issue.record("server handshake should fail, got \(outcome.server)")
            return
        }
        #expect(error.verificationFailure == .unknownIssuer)
    }

    @Test func optionalVerificationAcceptsMissingCertificate() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let sessions = try TLSConnectedSessions(
            client: client(certificates, identity: nil), server: mutualServer(certificates, verification: .optional)
        )
        defer { sessions.sockets.close() }
        let outcome = runHandshake(client: sessions.client, server: sessions.server)
        #expect(outcome.server == .done(0))
        #expect(sessions.server.peerCertificateSubject == nil)
    }

    @Test func optionalVerificationRejectsForeignCertificate() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let sessions = try TLSConnectedSessions(
            client: client(certificates, identity: certificates.foreignClient),
            server: mutualServer(certificates, verification: .optional)
        )
        defer { sessions.sockets.close() }
        let outcome = runHandshake(client: sessions.client, server: sessions.server)
        guard case .failed(let error) = outcome.server else {
            Issue.record("server handshake should fail, got \(outcome.server)")
            return
        }
        #expect(error.verificationFailure == .unknownIssuer)
    }
}
