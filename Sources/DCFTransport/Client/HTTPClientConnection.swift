// SPDX-License-Identifier: Apache-2.0
import Foundation

/// One keep-alive connection to the server, TLS or plain, with a read buffer. Blocking calls over a
/// non-blocking socket: every wait goes through `poll` with the current request's deadlines.
final class HTTPClientConnection: @unchecked Sendable {
    // @unchecked Sendable: one request uses the connection at a time, and the pool hands it over under a lock.
    let descriptor: Int32
    let server: String
    private let session: TLSSession?
    /// Limits of the request currently using the connection.
    var deadlines: RequestDeadlines
    /// When the connection last finished a request; the pool drops connections idle for too long.
    var lastUsed = ContinuousClock.now
    /// Number of requests completed on this connection.
    var completedRequests = 0
    /// Whether any byte arrived since the current request started; a request that failed before any response
    /// byte on a reused connection can be sent again.
    var receivedResponseBytes = false

    private var buffer: UnsafeMutableRawBufferPointer
    private var readIndex = 0
    private var writeIndex = 0
    private static let initialBufferSize = 64 << 10

    /// Connects to `host:port` and, for TLS, completes the handshake, verifying the server certificate.
    /// - Parameter socketBufferBytes: see `HTTPClientConfiguration.socketBufferBytes`.
    init(
        host: String, port: Int, tlsContext: TLSContext?, connectTimeout: Duration, deadlines: RequestDeadlines,
        socketBufferBytes: Int = 0
    ) throws {
        let server = HostText.withPort(host, port)
        let descriptor = try ClientSocket.connect(
            host: host, port: port, server: server, deadlines: deadlines, timeout: connectTimeout
        )
        if socketBufferBytes > 0 {
            SocketBuffer.receive.set(descriptor, bytes: socketBufferBytes)
            SocketBuffer.send.set(descriptor, bytes: socketBufferBytes)
        }
        do {
            // Collected output lets the session seal records into batches of its own (see TLSSession+RecordLayer),
            // so `write` sends what the session keeps before it returns.
            session = try tlsContext.map {
                try TLSSession(context: $0, fileDescriptor: descriptor, serverName: host, collectsOutput: true)
            }
        } catch let error as TLSError {
            // deinit does not run for a partly initialized object, so the socket is closed here.
            Foundation.close(descriptor)
            throw HTTPClientError.tls(server, error)
        }
        self.server = server
        self.descriptor = descriptor
        self.deadlines = deadlines
        buffer = .allocate(byteCount: Self.initialBufferSize, alignment: 1)
        try handshake(timeout: connectTimeout)
    }

    deinit {
        close()
        buffer.deallocate()
    }

    private var isClosed = false

    /// Sends close_notify when possible and closes the socket; later calls do nothing.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        _ = session?.shutdown()
        Foundation.close(descriptor)
    }

    private func handshake(timeout: Duration) throws {
        guard let session else { return }
        while true {
            switch session.handshake() {
            case .done: return
            case .wantRead: try wait(Int16(POLLIN), limit: timeout, phase: .tlsHandshake)
            case .wantWrite: try wait(Int16(POLLOUT), limit: timeout, phase: .tlsHandshake)
            case .closed:
                close()
                throw HTTPClientError.connectionClosed(server, while: "performing the TLS handshake")
            case .failed(let error):
                close()
                throw HTTPClientError.tls(server, error)
            }
        }
    }

    private func wait(_ events: Int16, limit: Duration? = nil, phase: HTTPClientError.TimeoutPhase = .idle) throws {
        let wait = deadlines.nextWait(limit: limit ?? deadlines.idleTimeout, phase: phase)
        try ClientSocket.wait(descriptor, for: events, wait, server)
    }

    /// Whether the server has not closed the idle connection (no pending input and no hang-up).
    var isUsable: Bool {
        !isClosed && readIndex == writeIndex && (session?.isIdleAndOpen ?? true)
            && ClientSocket.isIdleAndOpen(descriptor)
    }

    /// Whether the stream is TLS and ended without close_notify, so that someone on the path may have cut it
    /// short. Meaningful once a read returned the end of the stream.
    var endedWithoutCloseNotify: Bool {
        session.map { !$0.receivedCloseNotify } ?? false
    }

    // MARK: Writing

    /// Sends every byte of `bytes`, waiting for the socket as needed.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let remaining = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            offset += try writeSome(remaining)
        }
        try flushSession()
    }

    /// Sends the records that the TLS session took and still holds.
    private func flushSession() throws {
        guard let session else { return }
        while session.pendingOutput > 0 {
            switch session.flushOutput() {
            case .done: return
            case .wantRead: try wait(Int16(POLLIN))
            case .wantWrite: try wait(Int16(POLLOUT))
            case .closed: throw HTTPClientError.connectionClosed(server, while: "sending the request")
            case .failed(let error): throw HTTPClientError.tls(server, error)
            }
        }
    }

    func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    private func writeSome(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        while true {
            if let session {
                switch session.write(bytes) {
                case .done(let count): return count
                case .wantRead: try wait(Int16(POLLIN))
                case .wantWrite: try wait(Int16(POLLOUT))
                case .closed: throw HTTPClientError.connectionClosed(server, while: "sending the request")
                case .failed(let error): throw HTTPClientError.tls(server, error)
                }
                continue
            }
            let sent = send(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if sent >= 0 { return sent }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: try wait(Int16(POLLOUT))
            case EPIPE, ECONNRESET: throw HTTPClientError.connectionClosed(server, while: "sending the request")
            default: throw HTTPClientError.io(server, "send", errno: errno)
            }
        }
    }

    // MARK: Reading

    /// The bytes received but not yet consumed.
    var buffered: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[readIndex..<writeIndex])
    }

    /// Marks `count` buffered bytes as consumed.
    func consume(_ count: Int) {
        precondition(count <= writeIndex - readIndex, "consumed \(count) of \(writeIndex - readIndex) buffered bytes")
        readIndex += count
        if readIndex == writeIndex {
            readIndex = 0
            writeIndex = 0
        }
    }

    /// Reads more bytes into the buffer, growing it up to `maximumBuffered`; returns false at end of stream.
    ///
    /// - Throws: `overflow` when the buffer is full with `maximumBuffered` unconsumed bytes, and
    ///   `HTTPClientError` for timeouts, TLS and socket failures.
    func fill(maximumBuffered: Int = 64 << 10, overflow: @autoclosure () -> HTTPClientError) throws -> Bool {
        try makeRoom(maximumBuffered: maximumBuffered, overflow: overflow())
        while true {
            let free = UnsafeMutableRawBufferPointer(rebasing: buffer[writeIndex...])
            if let count = try readSome(into: free) {
                if count == 0 { return false }
                receivedResponseBytes = true
                writeIndex += count
                return true
            }
        }
    }

    /// Reads into `destination`, past the buffer, and returns the byte count: 0 at end of stream, else at least 1.
    ///
    /// A response body goes straight to its final storage this way: `recv` writes into it, or the TLS record layer
    /// decrypts into it every record that fits. Call only while nothing is buffered, because buffered bytes come
    /// before the ones read here.
    func receive(into destination: UnsafeMutableRawBufferPointer) throws -> Int {
        precondition(readIndex == writeIndex, "receive(into:) with \(writeIndex - readIndex) bytes still buffered")
        precondition(!destination.isEmpty, "receive(into:) with no room, which would read as the end of the stream")
        while true {
            if let count = try readSome(into: destination) {
                if count > 0 { receivedResponseBytes = true }
                return count
            }
        }
    }

    private func makeRoom(maximumBuffered: Int, overflow: @autoclosure () -> HTTPClientError) throws {
        guard writeIndex == buffer.count else { return }
        let pending = writeIndex - readIndex
        if readIndex > 0 {
            buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + readIndex, byteCount: pending)
            readIndex = 0
            writeIndex = pending
            return
        }
        guard buffer.count < maximumBuffered else { throw overflow() }
        let larger = UnsafeMutableRawBufferPointer.allocate(
            byteCount: min(buffer.count * 2, maximumBuffered), alignment: 1
        )
        larger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: pending)
        buffer.deallocate()
        buffer = larger
    }

    /// Attempts one read and returns the byte count (0 at end of stream), or `nil` after waiting for the socket.
    private func readSome(into free: UnsafeMutableRawBufferPointer) throws -> Int? {
        if let session {
            switch session.read(into: free) {
            case .done(let count): return count
            case .closed: return 0
            case .wantRead: try wait(Int16(POLLIN))
            case .wantWrite: try wait(Int16(POLLOUT))
            case .failed(let error): throw HTTPClientError.tls(server, error)
            }
            return nil
        }
        let received = recv(descriptor, free.baseAddress, free.count, 0)
        if received >= 0 { return received }
        switch errno {
        case EINTR: return nil
        case EAGAIN, EWOULDBLOCK: try wait(Int16(POLLIN))
        case ECONNRESET: throw HTTPClientError.connectionClosed(server, while: "receiving the response")
        default: throw HTTPClientError.io(server, "recv", errno: errno)
        }
        return nil
    }
}
