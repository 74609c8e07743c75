// SPDX-License-Identifier: Apache-2.0
import Glibc

extension HTTPConnection {
    /// The first byte of every TLS record carrying a handshake message, such as a ClientHello.
    private static let tlsHandshakeRecord: UInt8 = 0x16
    private static let http2Preface = Array("PRI * HTTP/2.0".utf8)

    /// Peeks at the first bytes on a TLS port: starts the handshake for a TLS ClientHello, otherwise logs what
    /// the client sent and closes, after a plain-text 400 for an HTTP/1 request.
    func detectProtocol() {
        var peeked = [UInt8](repeating: 0, count: Self.http2Preface.count)
        let count = peeked.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_PEEK)) }
        if count < 0 && (errno == EAGAIN || errno == EINTR) { return }
        guard count > 0 else {
            close(reason: .clientDisconnected)
            return
        }
        if peeked[0] == Self.tlsHandshakeRecord {
            startHandshake()
            return
        }
        // Waiting for more bytes is not possible here: the peeked bytes keep the socket readable, so a wait
        // would spin. A short read that only starts like the preface is answered as plaintext HTTP/1.
        if count == Self.http2Preface.count && peeked == Self.http2Preface {
            logWrongProtocol("closed connection: HTTP/2 preface on a TLS port")
        } else {
            logWrongProtocol("closed connection: plaintext request on a TLS port")
            let body = TLSPortPlaintextReply.body
            let message = Array("""
                HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n\
                Connection: close\r\n\r\n\(body)
                """.utf8)
            _ = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            Glibc.shutdown(fd, Int32(SHUT_WR))
            // Closing with unread input sends a reset that can destroy the response, so consume the request.
            _ = Glibc.read(fd, server.readBuffer.baseAddress, server.readBuffer.count)
        }
        close(reason: .clientDisconnected)
    }

    /// Logs a connection that did not start with a TLS handshake as a warning at most once per 10 s, and as a
    /// debug line otherwise, because such a connection costs a client nothing and could flood the log.
    private func logWrongProtocol(_ message: String) {
        if let held = Self.wrongProtocolWarnings.admit() {
            context.logger.warning(message, [("peer", peer), ("repeats_since_last_line", String(held))])
        } else {
            context.logger.debug(message, [("peer", peer)])
        }
    }

    private func startHandshake() {
        guard let tls = server.tls else {
            close(reason: .clientDisconnected)
            return
        }
        let tlsContext = tls.context
        clientPolicy = tlsContext.clientCertificatePolicy
        do {
            transport = TLSTransport(session: try TLSSession(context: tlsContext, fileDescriptor: fd, collectsOutput: true))
        } catch {
            context.logger.error("cannot create TLS session", [("peer", peer), ("error", "\(error)")])
            close(reason: .clientDisconnected)
            return
        }
        phase = .handshaking
        continueHandshake()
    }

    func continueHandshake() {
        guard let transport else { return }
        switch transport.handshake() {
        case .done:
            phase = .open
            readWaitsForWritable = false
            phaseStart = MonotonicClock.now()
            readInput()
        case .wantRead:
            readWaitsForWritable = false
        case .wantWrite:
            readWaitsForWritable = true
        case .closed:
            close(reason: .clientDisconnected)
            return
        case .failed(let message):
            if let held = Self.handshakeFailures.admit() {
                context.logger.info(
                    "TLS handshake failed", [("peer", peer), ("error", message), ("repeats_since_last_line", String(held))])
            } else {
                context.logger.debug("TLS handshake failed", [("peer", peer), ("error", message)])
            }
            close(reason: .clientDisconnected)
            return
        }
        updateInterest()
        updateTimer()
    }
}
