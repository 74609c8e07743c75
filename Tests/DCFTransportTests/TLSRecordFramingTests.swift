// SPDX-License-Identifier: Apache-2.0
import COpenSSL
import Foundation
import Testing
import TestSupport
@testable import DCFTransport

/// Records that a peer may send but neither OpenSSL nor dcf produce, sealed by `RecordForger` with the client's
/// traffic secret and sent to a server that opens its records itself.
@Suite struct TLSRecordFramingTests {
    struct ForgingPeers {
        let sessions: TLSConnectedSessions
        let forger: RecordForger
        var server: TLSSession { sessions.server }

        /// Sends `records` to the server as the client.
        func send(_ records: [UInt8]) {
            sendAll(records, on: sessions.sockets.clientSide)
        }
    }

    /// Connects a server with dcf's record layer to a client, and returns them with a forger that seals records
    /// as that client.
    func connectForging(_ certificates: CertificateFactory) throws -> ForgingPeers {
        var client = TLSConfiguration.client(trustedCAFile: certificates.ca.certificateFile)
        client.recordLayer = .openSSL
        let sessions = try TLSConnectedSessions(
            client: client, server: certificates.serverConfiguration(certificates.server), serverCollectsOutput: true
        )
        CapturedSecrets.install(on: sessions.client.context)
        let outcome = runHandshake(client: sessions.client, server: sessions.server)
        #expect(outcome.client == .done(0))
        #expect(outcome.server == .done(0))
        #expect(sessions.server.recordInput != nil)
        let secret = try #require(CapturedSecrets.secret("CLIENT_TRAFFIC_SECRET_0", of: sessions.client.ssl))
        let cipher = try #require(SSL_get_current_cipher(sessions.client.ssl))
        let suite = try #require(TLSRecordSuite(openSSLCipherID: UInt(SSL_CIPHER_get_id(cipher))))
        return ForgingPeers(sessions: sessions, forger: try RecordForger(suite: suite, secret: secret))
    }

    /// Reads everything the server has, and expects the read to fail with a message containing `reason`.
    private func expectFailure(_ peers: ForgingPeers, containing reason: String) {
        let (bytes, stop) = readUntilStop(peers.server)
        #expect(bytes.isEmpty)
        guard case .failed(let error) = stop else {
            Issue.record("expected a failure about \(reason), read \(bytes.count) bytes and then \(stop)")
            return
        }
        #expect(error.description.contains(reason))
    }

    @Test func keyUpdateMustEndItsRecord() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let peers = try connectForging(certificates)
        defer { peers.sessions.sockets.close() }
        // The start of a second KeyUpdate follows the first in its record, and its rest comes under the new key.
        peers.send(peers.forger.record([24, 0, 0, 1, 0, 24, 0], type: 22))
        try peers.forger.updateKey()
        peers.send(peers.forger.record([0, 1, 0], type: 22))
        try peers.forger.updateKey()
        peers.send(peers.forger.record(Array("data".utf8), type: 23))
        expectFailure(peers, containing: "KeyUpdate is not at the end of its record")
    }

    @Test func handshakeFragmentBeforeDataFails() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let peers = try connectForging(certificates)
        defer { peers.sessions.sockets.close() }
        // Application data between two parts of one KeyUpdate message.
        peers.send(peers.forger.record([24, 0], type: 22))
        peers.send(peers.forger.record(Array("data".utf8), type: 23))
        peers.send(peers.forger.record([0, 1, 0], type: 22))
        expectFailure(peers, containing: "interleaved")
    }

    @Test func emptyHandshakeRecordFails() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let peers = try connectForging(certificates)
        defer { peers.sessions.sockets.close() }
        peers.send(peers.forger.record([], type: 22))
        peers.send(peers.forger.record(Array("data".utf8), type: 23))
        expectFailure(peers, containing: "empty handshake record")
    }

    @Test func handshakeHeaderIsCheckedAtOnce() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        // A KeyUpdate that announces 60 KiB, and a NewSessionTicket sent to a server: the first 1,000 bytes show
        // that neither can be valid, so the server keeps none of the rest.
        let headers: [[UInt8]] = [[24, 0, 0xF0, 0], [4, 0, 0xF0, 0]]
        for header in headers {
            let peers = try connectForging(certificates)
            defer { peers.sessions.sockets.close() }
            peers.send(peers.forger.record(header + [UInt8](repeating: 1, count: 1000), type: 22))
            let (bytes, stop) = readUntilStop(peers.server)
            #expect(bytes.isEmpty)
            guard case .failed = stop else {
                Issue.record("a handshake message of type \(header[0]) and 61,440 bytes was kept: \(stop)")
                continue
            }
        }
    }

    @Test func keyUpdateRequestsQueueOneAnswer() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let peers = try connectForging(certificates)
        defer { peers.sessions.sockets.close() }
        // The server's output fills the socket, so anything it seals from now on stays in its memory.
        let download = [UInt8](repeating: 1, count: 4 << 20)
        var accepted = 0
        for _ in 0..<1_000 {
            let result = download.withUnsafeBytes { peers.server.write(UnsafeRawBufferPointer(rebasing: $0[accepted...])) }
            guard case .done(let count) = result else { break }
            accepted += count
        }
        let waiting = peers.server.pendingOutput
        #expect(waiting > 0)

        // A client that does not read requests the server's KeyUpdate again and again, one data byte in between.
        for _ in 0..<200 {
            peers.send(peers.forger.record([24, 0, 0, 1, 1], type: 22))
            try peers.forger.updateKey()
            peers.send(peers.forger.record([7], type: 23))
            #expect(readUntilStop(peers.server).bytes == [7])
        }
        #expect(peers.server.pendingOutput == waiting)
        #expect(peers.server.recordSealer?.generation == 0)

        // The server's next record follows the one KeyUpdate it owes, and OpenSSL on the client opens both.
        var received = 0
        for _ in 0..<10_000 where peers.server.pendingOutput > 0 {
            received += readUntilStop(peers.sessions.client).bytes.count
            _ = peers.server.flushOutput()
        }
        let reply = Array("reply".utf8)
        #expect(reply.withUnsafeBytes { peers.server.write($0) } == .done(reply.count))
        #expect(peers.server.recordSealer?.generation == 1)
        let rest = readUntilStop(peers.sessions.client).bytes
        #expect(received + rest.count == accepted + reply.count)
        #expect(Array(rest.suffix(reply.count)) == reply)
    }

    @Test func userCanceledAlertIsSkipped() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let peers = try connectForging(certificates)
        defer { peers.sessions.sockets.close() }
        // user_canceled is a closure alert (RFC 8446, section 6.1) that close_notify should follow.
        peers.send(peers.forger.record(Array("one".utf8), type: 23))
        peers.send(peers.forger.record([1, 90], type: 21))
        peers.send(peers.forger.record(Array("two".utf8), type: 23))
        peers.send(peers.forger.record([1, 0], type: 21))
        let (bytes, stop) = readUntilStop(peers.server)
        #expect(String(decoding: bytes, as: UTF8.self) == "onetwo")
        #expect(stop == .closed)
    }

    @Test func fatalAlertIsNamed() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let peers = try connectForging(certificates)
        defer { peers.sessions.sockets.close() }
        // certificate_required, which OpenSSL 3.0 cannot name.
        peers.send(peers.forger.record([2, 116], type: 21))
        expectFailure(peers, containing: "peer sent TLS alert 116 (certificate_required)")
    }

    @Test func keyUpdateSplitAcrossRecordsIsFollowed() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let peers = try connectForging(certificates)
        defer { peers.sessions.sockets.close() }
        peers.send(peers.forger.record(Array("one".utf8), type: 23))
        peers.send(peers.forger.record([24, 0], type: 22))
        peers.send(peers.forger.record([0, 1], type: 22))
        peers.send(peers.forger.record([0], type: 22))
        try peers.forger.updateKey()
        peers.send(peers.forger.record(Array("two".utf8), type: 23))
        let (bytes, stop) = readUntilStop(peers.server)
        #expect(String(decoding: bytes, as: UTF8.self) == "onetwo")
        #expect(stop == .wantRead)
        #expect(peers.server.recordInput?.opener.generation == 1)
    }
}
