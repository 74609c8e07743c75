// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import TestSupport
@testable import DCFTransport

@Suite struct TLSSessionTests {
    @Test func handshakeAndEchoOverTLS13() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let sessions = try TLSConnectedSessions(
            client: .client(trustedCAFile: certificates.ca.certificateFile),
            server: certificates.serverConfiguration(certificates.server)
        )
        defer { sessions.sockets.close() }

        let outcome = runHandshake(client: sessions.client, server: sessions.server)
        #expect(outcome.client == .done(0))
        #expect(outcome.server == .done(0))
        #expect(sessions.client.protocolVersion == "TLSv1.3")
        #expect(sessions.client.peerCertificateSubject == "/CN=server")
        // AES-128-GCM is preferred over OpenSSL's default first choice, AES-256-GCM, because it is cheaper.
        #expect(sessions.client.cipherName == "TLS_AES_128_GCM_SHA256")
        #expect(sessions.server.cipherName == "TLS_AES_128_GCM_SHA256")

        let message = Array("hello over TLS".utf8)
        let written = message.withUnsafeBytes { sessions.client.write($0) }
        #expect(written == .done(message.count))
        var received = [UInt8](repeating: 0, count: 64)
        let read = received.withUnsafeMutableBytes { sessions.server.read(into: $0) }
        #expect(read == .done(message.count))
        #expect(Array(received.prefix(message.count)) == message)
    }

    @Test func readReportsCloseNotify() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let sessions = try TLSConnectedSessions(
            client: .client(trustedCAFile: certificates.ca.certificateFile),
            server: certificates.serverConfiguration(certificates.server)
        )
        defer { sessions.sockets.close() }
        #expect(runHandshake(client: sessions.client, server: sessions.server).client == .done(0))

        var buffer = [UInt8](repeating: 0, count: 16)
        let before = buffer.withUnsafeMutableBytes { sessions.server.read(into: $0) }
        #expect(before == .wantRead)
        #expect(sessions.client.shutdown() == .done(0))
        let after = buffer.withUnsafeMutableBytes { sessions.server.read(into: $0) }
        #expect(after == .closed)
    }

    @Test func serverRequiringTLS13Negotiates() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        var server = certificates.serverConfiguration(certificates.server)
        server.minimumVersion = .tls1_3
        let sessions = try TLSConnectedSessions(
            client: .client(trustedCAFile: certificates.ca.certificateFile), server: server
        )
        defer { sessions.sockets.close() }
        let outcome = runHandshake(client: sessions.client, server: sessions.server)
        #expect(outcome.server == .done(0))
        #expect(sessions.server.protocolVersion == "TLSv1.3")
    }

    /// A partial record is buffered input but not decrypted input; the rest of the record makes it readable.
    @Test func partialRecordIsNotDecryptedInput() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let sessions = try TLSConnectedSessions(
            client: .client(trustedCAFile: certificates.ca.certificateFile),
            server: certificates.serverConfiguration(certificates.server)
        )
        defer { sessions.sockets.close() }
        #expect(runHandshake(client: sessions.client, server: sessions.server).server == .done(0))

        // Take the client's record off the server's socket, then hand it back in two parts.
        let message = [UInt8](repeating: 7, count: 1000)
        #expect(message.withUnsafeBytes { sessions.client.write($0) } == .done(message.count))
        var record = [UInt8](repeating: 0, count: 4096)
        let recordLength = record.withUnsafeMutableBytes { recv(sessions.sockets.serverSide, $0.baseAddress, $0.count, 0) }
        #expect(recordLength > 10)
        guard recordLength > 10 else { return }
        #expect(record.withUnsafeBytes { send(sessions.sockets.clientSide, $0.baseAddress, 10, 0) } == 10)

        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(buffer.withUnsafeMutableBytes { sessions.server.read(into: $0) } == .wantRead)
        #expect(sessions.server.hasBufferedInput)
        #expect(!sessions.server.hasDecryptedInput)

        let rest = record.withUnsafeBytes { send(sessions.sockets.clientSide, $0.baseAddress! + 10, recordLength - 10, 0) }
        #expect(rest == recordLength - 10)
        // The first read takes 64 of the 1000 bytes; the rest waits decrypted in OpenSSL.
        #expect(buffer.withUnsafeMutableBytes { sessions.server.read(into: $0) } == .done(64))
        #expect(sessions.server.hasDecryptedInput)
    }
}
