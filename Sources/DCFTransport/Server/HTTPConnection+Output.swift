// SPDX-License-Identifier: Apache-2.0
import Glibc

extension HTTPConnection {
    /// The maximum bytes passed to one write call, which bounds the time one connection keeps the loop busy.
    private static let maxWriteSize = 256 * 1024
    private static let fileChunkSize = 64 * 1024

    /// Writes queued items until the socket would block or the queue is empty.
    func flush() {
        if !writeBlocked, (transport?.pendingOutput ?? 0) > 0 { _ = drainTransport() }
        while phase == .open, !writeBlocked, !writeWaitsForReadable, let item = outbound.first {
            switch item {
            case .completion(let completion):
                outbound.removeFirst()
                completion(true)
            case .responseEnd:
                // The next request, or closing, waits until the transport has sent every byte of this response.
                guard drainTransport() else { break }
                outbound.removeFirst()
                finishRequest()
            case .bytes(let bytes):
                guard let written = writeBytes(bytes) else { break }
                outbound.offset += written
                if outbound.offset == bytes.count { outbound.removeFirst() }
            case .file(let region, let position, let end):
                guard let written = writeFile(region, position: position, end: end) else { break }
                if written.finished { outbound.removeFirst() } else { outbound.updateFirstFile(position: written.position) }
            }
        }
        guard phase == .open else { return }
        if !writeBlocked, (transport?.pendingOutput ?? 0) > 0 { _ = drainTransport() }
        guard phase == .open else { return }
        if outbound.isEmpty, transport?.pendingOutput == 0 { transport?.releaseIdleBuffers() }
        updateInterest()
        updateTimer()
    }

    /// Sends bytes waiting in the transport; returns true once none wait. Sets `writeBlocked` while the socket
    /// is full, and closes the connection when sending fails.
    private func drainTransport() -> Bool {
        guard let transport else { return false }
        let pending = transport.pendingOutput
        guard pending > 0 else { return true }
        let result = transport.flushOutput()
        // Bytes the socket took count as progress for the write timeout, even when it then filled up.
        if transport.pendingOutput < pending { lastWriteProgress = MonotonicClock.now() }
        guard handleWriteResult(result) != nil else { return false }
        return transport.pendingOutput == 0
    }

    /// Writes part of `bytes` after the queue's offset; nil when the socket would block or the connection closed.
    private func writeBytes(_ bytes: [UInt8]) -> Int? {
        guard let transport else { return nil }
        let start = outbound.offset
        let result = bytes.withUnsafeBytes { raw in
            transport.write(UnsafeRawBufferPointer(rebasing: raw[start..<min(raw.count, start + Self.maxWriteSize)]))
        }
        return handleWriteResult(result)
    }

    /// Sends part of a file region: `sendfile` on plain TCP, a `pread` chunk through TLS.
    private func writeFile(_ region: HTTPFileRegion, position: Int, end: Int) -> (position: Int, finished: Bool)? {
        guard let transport else { return nil }
        guard position < end else { return (position, true) }
        if transport.supportsSendfile {
            var offset = off_t(position)
            let count = min(end - position, Self.maxWriteSize * 4)
            do {
                switch try nonBlockingSyscall("sendfile", { sendfile(fd, region.fd, &offset, count) }) {
                case .value(let sent):
                    guard sent > 0 else {
                        failFile(region, reason: "file shorter than its response length")
                        return nil
                    }
                    recordWritten(sent)
                    return (position + sent, position + sent == end)
                case .wouldBlock:
                    writeBlocked = true
                    return nil
                }
            } catch {
                context.logger.debug("sendfile failed", [("peer", peer), ("error", "\(error)")])
                close(reason: .clientDisconnected)
                return nil
            }
        }
        if region.isMapped { return writeMapped(region, position: position, end: end, transport: transport) }
        return writeFileChunk(region, position: position, end: end, transport: transport)
    }

    /// Sends part of a mapped file region through the transport, which encrypts it from the page cache.
    private func writeMapped(
        _ region: HTTPFileRegion, position: Int, end: Int, transport: ConnectionTransport
    ) -> (position: Int, finished: Bool)? {
        guard let bytes = region.mappedBytes(position..<min(end, position + Self.maxWriteSize)) else {
            failFile(region, reason: "file shorter than its response length")
            return nil
        }
        guard let written = handleWriteResult(transport.write(bytes)) else { return nil }
        return (position + written, position + written == end)
    }

    private func writeFileChunk(
        _ region: HTTPFileRegion, position: Int, end: Int, transport: ConnectionTransport
    ) -> (position: Int, finished: Bool)? {
        if outbound.fileChunkSent == outbound.fileChunk.count {
            let count = min(end - position, Self.fileChunkSize)
            var chunk = [UInt8](repeating: 0, count: count)
            let read = chunk.withUnsafeMutableBytes { pread(region.fd, $0.baseAddress, count, off_t(position)) }
            guard read > 0 else {
                failFile(region, reason: "file shorter than its response length")
                return nil
            }
            chunk.removeLast(count - read)
            outbound.fileChunk = chunk
            outbound.fileChunkSent = 0
        }
        let start = outbound.fileChunkSent
        let result = outbound.fileChunk.withUnsafeBytes { transport.write(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        guard let written = handleWriteResult(result) else { return nil }
        outbound.fileChunkSent += written
        guard outbound.fileChunkSent == outbound.fileChunk.count else { return (position, false) }
        let next = position + outbound.fileChunk.count
        outbound.fileChunk = []
        outbound.fileChunkSent = 0
        return (next, next == end)
    }

    private func failFile(_ region: HTTPFileRegion, reason: String) {
        // The head already promised a length, so the only honest end is closing the connection.
        context.logger.error("cannot send file body", [("peer", peer), ("reason", reason)])
        close(reason: .clientDisconnected)
    }

    private func handleWriteResult(_ result: TransportResult) -> Int? {
        switch result {
        case .done(let count):
            recordWritten(count)
            return count
        case .wantWrite:
            writeBlocked = true
        case .wantRead:
            writeWaitsForReadable = true
        case .closed:
            close(reason: .clientDisconnected)
        case .failed(let message):
            context.logger.debug("connection write failed", [("peer", peer), ("error", message)])
            close(reason: .clientDisconnected)
        }
        return nil
    }

    private func recordWritten(_ count: Int) {
        context.metrics.bytesOut.add(count, ordering: .relaxed)
        lastWriteProgress = MonotonicClock.now()
    }

    /// Called once a response has been written: serves the next request or closes.
    func finishRequest() {
        guard phase == .open else { return }
        request = nil
        if closeAfterResponse {
            beginLingeringClose()
            return
        }
        phaseStart = MonotonicClock.now()
        // Bytes still in the socket keep it readable, so epoll reports them. Bytes already taken in, kept in
        // `inbound` or inside TLS, raise no event, so only they are read now. Skipping the read otherwise saves
        // a TLS read and a failing `read` call per response, which adds up when a publish wakes every poll.
        if !inbound.isEmpty || transport?.hasBufferedInput == true { readInput() }
    }

    /// Shuts down the write side and drops input until the client closes, so a client still sending (a body the
    /// server rejected) reads the response instead of a reset.
    func beginLingeringClose() {
        guard phase == .open else { return }
        if let request {
            self.request = nil
            request.abandon(reason: .clientDisconnected, metrics: context.metrics, loop: loop)
        }
        outbound.failAll()
        _ = transport?.shutdown()
        Glibc.shutdown(fd, Int32(SHUT_WR))
        inbound = []
        phase = .lingering
        phaseStart = MonotonicClock.now()
        updateInterest()
        updateTimer()
    }

    func drainWhileLingering() {
        let buffer = server.readBuffer
        for _ in 0..<16 {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count > 0 { continue }
            if count < 0 && (errno == EAGAIN || errno == EINTR) { return }
            close(reason: .clientDisconnected)
            return
        }
    }
}
