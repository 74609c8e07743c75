// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Writing the request and reading the response once the connection is ready.
extension MultiplexedConnection {
    private enum IOOutcome {
        case bytes(Int)
        case wouldBlock
        case endOfStream
        case failed(HTTPClientError)
    }

    /// Writes as much of the request as the socket takes, then waits for the response.
    func writeRequest() {
        while let current = exchange, !current.isWritten {
            let sent = current.bytes.withUnsafeBytes { raw in
                writeSome(UnsafeRawBufferPointer(rebasing: raw[current.written...]))
            }
            switch sent {
            case .bytes(let count):
                exchange?.written += count
                lastActivity = MonotonicClock.now()
            case .wouldBlock:
                return
            case .endOfStream:
                return endOfStream()
            case .failed(let error):
                return fail(error)
            }
        }
        setInterest(.readable)
    }

    private func writeSome(_ bytes: UnsafeRawBufferPointer) -> IOOutcome {
        if let session {
            switch session.write(bytes) {
            case .done(let count): return .bytes(count)
            case .wantRead: setInterest(.readable)
            case .wantWrite: setInterest([.readable, .writable])
            case .closed: return .endOfStream
            case .failed(let error): return .failed(.tls(server, error))
            }
            return .wouldBlock
        }
        while true {
            let sent = Foundation.send(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if sent >= 0 { return .bytes(sent) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK:
                setInterest([.readable, .writable])
                return .wouldBlock
            case EPIPE, ECONNRESET: return .endOfStream
            default: return .failed(.io(server, "send", errno: errno))
            }
        }
    }

    /// Reads until the socket has nothing more, feeding the bytes to the response parser.
    func readAvailable() {
        let buffer = shared.readBuffer
        while state == .ready {
            switch readSome(into: buffer) {
            case .bytes(let count): receive(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            case .wouldBlock: return
            case .endOfStream: return endOfStream()
            case .failed(let error): return fail(error)
            }
        }
    }

    private func readSome(into buffer: UnsafeMutableRawBufferPointer) -> IOOutcome {
        if let session {
            switch session.read(into: buffer) {
            case .done(let count): return .bytes(count)
            case .wantRead: setInterest(.readable)
            case .wantWrite: setInterest([.readable, .writable])
            case .closed: return .endOfStream
            case .failed(let error): return .failed(.tls(server, error))
            }
            return .wouldBlock
        }
        while true {
            let received = recv(descriptor, buffer.baseAddress, buffer.count, 0)
            if received > 0 { return .bytes(received) }
            if received == 0 { return .endOfStream }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            case ECONNRESET: return .endOfStream
            default: return .failed(.io(server, "recv", errno: errno))
            }
        }
    }

    /// Parses received bytes; completes the exchange when the response is whole.
    private func receive(_ bytes: UnsafeRawBufferPointer) {
        lastActivity = MonotonicClock.now()
        guard var current = exchange else {
            // Bytes without a request in flight leave the connection in an unknown state; the next request
            // gets a new one.
            closeConnection()
            return
        }
        current.receivedResponseBytes = true
        let used: Int
        do {
            used = try current.parser.consume(bytes)
        } catch {
            exchange = current
            return fail(error as? HTTPClientError ?? .invalidResponse(server, "\(error)"))
        }
        exchange = current
        guard let response = current.parser.response else { return }
        // A response the server announced as its last, or bytes beyond it, end the connection.
        // An early response, before the whole request went out, also ends it.
        let keepAlive = current.parser.allowsKeepAlive && used == bytes.count && current.isWritten
            && !current.request.headers.containsToken("close", in: "Connection")
        if keepAlive {
            completedRequests += 1
        } else {
            closeConnection()
        }
        finishExchange(.success(response))
    }

    /// Handles the server closing the connection: the end of a body framed by the close, a stale keep-alive
    /// connection to retry on, or a cut-off response. Over TLS a body framed by the close ends only with
    /// close_notify, because anyone on the path can end the TCP stream early.
    func endOfStream() {
        guard var current = exchange else { return closeConnection() }
        if current.isWritten, current.parser.readsUntilClose, let session, !session.receivedCloseNotify {
            closeConnection()
            return finishExchange(.failure(.closedWithoutCloseNotify(server)))
        }
        if current.isWritten, current.parser.finishAtEndOfStream(), let response = current.parser.response {
            closeConnection()
            return finishExchange(.success(response))
        }
        let reused = completedRequests > 0
        let firstOnTLS = session != nil && completedRequests == 0
        closeConnection()
        if reused, !current.receivedResponseBytes, current.request.isReplayable {
            // The server may close an idle keep-alive connection just as a request goes out; a replayable request
            // is sent once more on a new connection.
            current.written = 0
            current.parser = makeParser(for: current.request)
            exchange = current
            state = .queued
            return shared.requestConnect(self)
        }
        let step = current.receivedResponseBytes ? "receiving the response" : "waiting for the response"
        var error = HTTPClientError.connectionClosed(server, while: step)
        if firstOnTLS, !current.receivedResponseBytes {
            // With TLS 1.3 the client finishes its handshake before the server checks the client certificate,
            // so a rejected certificate shows up as a closed connection on the first request.
            error = error.closedOverClientCertificate(presented: shared.configuration.presentsClientCertificate)
        }
        finishExchange(.failure(error))
    }
}
