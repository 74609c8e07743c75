// SPDX-License-Identifier: Apache-2.0
import COpenSSL
import Foundation
import Testing
import TestSupport
@testable import DCFTransport

/// dcf's TLS 1.3 record layer against OpenSSL's. A server that seals and opens its own records talks to a client
/// that leaves every record to OpenSSL, so a wrong key, nonce, header or KeyUpdate fails on one side.
@Suite struct TLSRecordLayerTests {
    private struct Peers {
        let sessions: TLSConnectedSessions
        var client: TLSSession { sessions.client }
        var server: TLSSession { sessions.server }
    }

    /// Connects a server with dcf's record layer and collected output to an OpenSSL-only client, and completes
    /// the handshake.
    private func connect(_ certificates: CertificateFactory, clientMaximum: Int32? = nil) throws -> Peers {
        var client = TLSConfiguration.client(trustedCAFile: certificates.ca.certificateFile)
        client.recordLayer = .openSSL
        let sessions = try TLSConnectedSessions(
            client: client, server: certificates.serverConfiguration(certificates.server), serverCollectsOutput: true
        )
        if let clientMaximum {
            _ = SSL_ctrl(sessions.client.ssl, SSL_CTRL_SET_MAX_PROTO_VERSION, Int(clientMaximum), nil)
        }
        let outcome = runHandshake(client: sessions.client, server: sessions.server)
        #expect(outcome.client == .done(0))
        #expect(outcome.server == .done(0))
        return Peers(sessions: sessions)
    }

    @Test func ownRecordsInteroperateWithOpenSSLBothWays() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let peers = try connect(certificates)
        defer { peers.sessions.sockets.close() }
        #expect(peers.server.recordSealer != nil)
        #expect(peers.server.recordInput != nil)
        #expect(peers.client.recordInput == nil)

        let download = Self.randomBytes(300_000)
        try expectDelivered(download, from: peers.server, to: peers.client)
        let upload = Self.randomBytes(250_000)
        try expectDelivered(upload, from: peers.client, to: peers.server)
    }

    @Test func peerKeyUpdateIsFollowedAndAnswered() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let peers = try connect(certificates)
        defer { peers.sessions.sockets.close() }
        let before = Array("before the update".utf8)
        try expectDelivered(before, from: peers.client, to: peers.server)

        // OpenSSL sends the KeyUpdate ahead of its next record and requests the server's.
        #expect(SSL_key_update(peers.client.ssl, SSL_KEY_UPDATE_REQUESTED) == 1)
        let after = Array("after the update".utf8)
        try expectDelivered(after, from: peers.client, to: peers.server)
        #expect(peers.server.recordInput?.opener.generation == 1)
        // The server's KeyUpdate waits for its next record.
        #expect(peers.server.recordSealer?.generation == 0)

        // The client opens the server's KeyUpdate and the record sealed with the new key after it.
        let reply = Self.randomBytes(40_000)
        try expectDelivered(reply, from: peers.server, to: peers.client)
        #expect(peers.server.recordSealer?.generation == 1)
    }

    @Test func sealingKeyIsReplacedAfterItsRecordLimit() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let peers = try connect(certificates)
        defer { peers.sessions.sockets.close() }
        peers.server.recordsPerWriteKey = 3
        // 10 full records need three KeyUpdates of the server's own.
        let body = Self.randomBytes(10 * TLSRecordCipher.maxPlaintext)
        try expectDelivered(body, from: peers.server, to: peers.client)
        #expect(peers.server.recordSealer?.generation == 3)
    }

    @Test func endlessKeyUpdatesFailConnection() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let peers = try connect(certificates)
        defer { peers.sessions.sockets.close() }
        // Each SSL_do_handshake sends one KeyUpdate record; none carries data.
        for _ in 0..<40 {
            #expect(SSL_key_update(peers.client.ssl, SSL_KEY_UPDATE_NOT_REQUESTED) == 1)
            #expect(SSL_do_handshake(peers.client.ssl) == 1)
        }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let result = buffer.withUnsafeMutableBytes { peers.server.read(into: $0) }
        guard case .failed(let error) = result else {
            Issue.record("40 KeyUpdate records in a row were accepted: \(result)")
            return
        }
        #expect(error.description.contains("too many records without application data"))
        #expect(peers.server.recordInput?.opener.generation == 32)
    }

    @Test func alteredRecordFailsAuthentication() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let peers = try connect(certificates)
        defer { peers.sessions.sockets.close() }
        let message = [UInt8](repeating: 9, count: 500)
        #expect(message.withUnsafeBytes { peers.client.write($0) } == .done(message.count))
        // Take the record off the server's socket, change one byte of its ciphertext, and send it back in.
        var record = [UInt8](repeating: 0, count: 4096)
        let length = record.withUnsafeMutableBytes { recv(peers.sessions.sockets.serverSide, $0.baseAddress, $0.count, 0) }
        try #require(length > 100)
        record[40] ^= 1
        #expect(record.withUnsafeBytes { send(peers.sessions.sockets.clientSide, $0.baseAddress, length, 0) } == length)

        var buffer = [UInt8](repeating: 0, count: 1024)
        let result = buffer.withUnsafeMutableBytes { peers.server.read(into: $0) }
        guard case .failed(let error) = result else {
            Issue.record("an altered record was accepted: \(result)")
            return
        }
        #expect(error.description.contains("bad record MAC"))
        // dcf's record layer found this failure, not OpenSSL, and the message names the record layer.
        #expect(error.description.contains("(record layer: "), "\(error)")
        #expect(!error.description.contains("OpenSSL"), "\(error)")
        // The failure stays: nothing after it is read.
        #expect(buffer.withUnsafeMutableBytes { peers.server.read(into: $0) } == result)
    }

    /// A bulk transfer grows the input storage to take several records per receive. When the client then stops
    /// in the middle of a record, the storage shrinks to room for one record.
    @Test func stalledRecordShrinksInputStorage() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let peers = try connect(certificates)
        defer { peers.sessions.sockets.close() }
        // Records of 16 KiB sent in bursts of about 100 KiB, so a receive finds more than its room.
        let bulk = Self.randomBytes(400_000)
        var buffer = [UInt8](repeating: 0, count: 20_000)
        var sent = 0
        var received = 0
        var largest = 0
        for _ in 0..<1000 where received < bulk.count {
            for _ in 0..<6 where sent < bulk.count {
                let result = bulk.withUnsafeBytes { peers.client.write(UnsafeRawBufferPointer(rebasing: $0[sent...])) }
                guard case .done(let count) = result else { break }
                sent += count
            }
            while case .done(let count) = buffer.withUnsafeMutableBytes({ peers.server.read(into: $0) }), count > 0 {
                received += count
                largest = max(largest, peers.server.recordInput?.capacity ?? 0)
            }
        }
        #expect(received == bulk.count)
        #expect(largest == TLSRecordInput.maximumCapacity)
        let message = [UInt8](repeating: 5, count: 3000)
        #expect(message.withUnsafeBytes { peers.client.write($0) } == .done(message.count))

        // Take the last record off the socket and hand back its first 100 bytes only.
        var record = [UInt8](repeating: 0, count: 8192)
        var recordLength = 0
        for _ in 0..<100 where recordLength == 0 {
            let count = record.withUnsafeMutableBytes { recv(peers.sessions.sockets.serverSide, $0.baseAddress, $0.count, 0) }
            recordLength = max(count, 0)
        }
        try #require(recordLength > 100)
        #expect(record.withUnsafeBytes { send(peers.sessions.sockets.clientSide, $0.baseAddress, 100, 0) } == 100)
        #expect(buffer.withUnsafeMutableBytes { peers.server.read(into: $0) } == .wantRead)
        #expect(peers.server.recordInput?.capacity == TLSRecordInput.minimumCapacity)
        #expect(peers.server.hasBufferedInput)

        let rest = record.withUnsafeBytes { send(peers.sessions.sockets.clientSide, $0.baseAddress! + 100, recordLength - 100, 0) }
        #expect(rest == recordLength - 100)
        #expect(buffer.withUnsafeMutableBytes { peers.server.read(into: $0) } == .done(message.count))
    }

    @Test func closeNotifyInBothDirections() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let peers = try connect(certificates)
        defer { peers.sessions.sockets.close() }
        let last = Array("last words".utf8)
        #expect(last.withUnsafeBytes { peers.server.write($0) } == .done(last.count))
        #expect(peers.server.shutdown() == .done(0))
        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(buffer.withUnsafeMutableBytes { peers.client.read(into: $0) } == .done(last.count))
        #expect(buffer.withUnsafeMutableBytes { peers.client.read(into: $0) } == .closed)

        // Data and close_notify that arrive together: the data first, then the end.
        let final = Array("final request".utf8)
        #expect(final.withUnsafeBytes { peers.client.write($0) } == .done(final.count))
        #expect(peers.client.shutdown() == .done(0))
        #expect(buffer.withUnsafeMutableBytes { peers.server.read(into: $0) } == .done(final.count))
        #expect(Array(buffer.prefix(final.count)) == final)
        #expect(buffer.withUnsafeMutableBytes { peers.server.read(into: $0) } == .closed)
    }

    @Test func tls12ConnectionKeepsOpenSSLRecords() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let peers = try connect(certificates, clientMaximum: TLS1_2_VERSION)
        defer { peers.sessions.sockets.close() }
        #expect(peers.server.protocolVersion == "TLSv1.2")
        #expect(peers.server.recordSealer == nil)
        #expect(peers.server.recordInput == nil)
        let body = Self.randomBytes(50_000)
        try expectDelivered(body, from: peers.server, to: peers.client)
        try expectDelivered(body, from: peers.client, to: peers.server)
    }

    @Test func openSSLRecordLayerCanBeChosen() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        var server = certificates.serverConfiguration(certificates.server)
        server.recordLayer = .openSSL
        let sessions = try TLSConnectedSessions(
            client: .client(trustedCAFile: certificates.ca.certificateFile), server: server, serverCollectsOutput: true
        )
        defer { sessions.sockets.close() }
        #expect(runHandshake(client: sessions.client, server: sessions.server).server == .done(0))
        #expect(sessions.server.recordSealer == nil)
        #expect(sessions.server.recordInput == nil)
        // The client still opens records itself, here sealed by OpenSSL on the server.
        #expect(sessions.client.recordInput != nil)
        let body = Self.randomBytes(70_000)
        try expectDelivered(body, from: sessions.server, to: sessions.client)
    }

    @Test func clientAnswersKeyUpdateDuringBlockedWrite() throws {
        let certificates = try CertificateFactory()
        defer { certificates.remove() }
        let sessions = try TLSConnectedSessions(
            client: .client(trustedCAFile: certificates.ca.certificateFile),
            server: certificates.serverConfiguration(certificates.server), serverCollectsOutput: true
        )
        defer { sessions.sockets.close() }
        #expect(runHandshake(client: sessions.client, server: sessions.server).server == .done(0))
        let sealer = try #require(sessions.server.recordSealer)
        try #require(sessions.client.recordInput != nil)

        // The client writes until the socket is full and OpenSSL keeps part of a record for the next call.
        let upload = Self.randomBytes(3_000_000)
        var sent = 0
        var blocked = false
        for _ in 0..<1_000 where !blocked {
            let result = upload.withUnsafeBytes { sessions.client.write(UnsafeRawBufferPointer(rebasing: $0[sent...])) }
            switch result {
            case .done(let count): sent += count
            case .wantWrite: blocked = true
            default: throw PumpFailure(description: "write: \(result)")
            }
        }
        try #require(blocked)

        // The server requests the client's KeyUpdate in a record of its own.
        let request: [UInt8] = [24, 0, 0, 1, 1]
        var record = [UInt8](repeating: 0, count: request.count + TLSRecordCipher.overhead)
        let length = try record.withUnsafeMutableBytes { room in
            try request.withUnsafeBytes { try sealer.seal(contentType: 22, plaintext: $0, into: room.baseAddress!) }
        }
        try sealer.updateKey()
        sendAll(Array(record.prefix(length)), on: sessions.sockets.serverSide)
        var buffer = [UInt8](repeating: 0, count: 100)
        #expect(buffer.withUnsafeMutableBytes { sessions.client.read(into: $0) } == .wantRead)

        // The rest of the upload arrives, and the server opens it with the client's next key.
        let received = try pump(upload, from: sessions.client, to: sessions.server, startingAt: sent)
        #expect(received.count == upload.count)
        #expect(sha256Hex(Data(received)) == sha256Hex(Data(upload)))
        #expect(sessions.server.recordInput?.opener.generation == 1)
    }

    /// Pumps `bytes` across and compares what arrived by length and SHA-256, so a mismatch reports at once.
    private func expectDelivered(_ bytes: [UInt8], from writer: TLSSession, to reader: TLSSession) throws {
        let received = try pump(bytes, from: writer, to: reader)
        #expect(received.count == bytes.count)
        #expect(sha256Hex(Data(received)) == sha256Hex(Data(bytes)))
    }

    /// Moves `bytes` from one session to the other, alternating writes, flushes and reads in one thread; the
    /// writer already took the first `sent` bytes.
    private func pump(_ bytes: [UInt8], from writer: TLSSession, to reader: TLSSession, startingAt sent: Int = 0) throws -> [UInt8] {
        var received: [UInt8] = []
        var sent = sent
        var buffer = [UInt8](repeating: 0, count: 20_000)
        for _ in 0..<10_000 {
            if sent < bytes.count {
                let result = bytes.withUnsafeBytes { writer.write(UnsafeRawBufferPointer(rebasing: $0[sent...])) }
                switch result {
                case .done(let count): sent += count
                case .wantRead, .wantWrite: break
                case let other: throw PumpFailure(description: "write: \(other)")
                }
            }
            if writer.pendingOutput > 0 { _ = writer.flushOutput() }
            while true {
                let result = buffer.withUnsafeMutableBytes { reader.read(into: $0) }
                guard case .done(let count) = result, count > 0 else {
                    if case .failed = result { throw PumpFailure(description: "read: \(result)") }
                    break
                }
                received += buffer.prefix(count)
            }
            if received.count >= bytes.count, writer.pendingOutput == 0 { break }
        }
        return received
    }

    private struct PumpFailure: Error, CustomStringConvertible {
        let description: String
    }

    private static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
