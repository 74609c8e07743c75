// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import TestSupport

/// A plain-HTTP forwarder on 127.0.0.1 between a worker and `dcf-serverd --plain-http` that breaks the first
/// `POST /dcf/update` in one of two ways, so that for the worker the request went out in full but no reply came.
/// Before it relays the first 503 reply it runs `on503`.
final class UpdateFaultProxy: Sendable {
    enum Fault {
        /// Cuts the connection one body byte short: the server never reads a whole body and never authenticates it.
        case cutBody
        /// Forwards the whole request, then closes the connection instead of relaying the server's reply.
        case dropReply
    }

    let port: Int
    private let listener: Int32
    private let serverPort: Int
    private let fault: Fault
    private let on503: @Sendable () -> Void
    /// Whether the first update was found, whether its reply was dropped, and whether the first 503 was seen.
    private let progress = Mutex<(firstUpdate: Bool, dropped: Bool, saw503: Bool)>((false, false, false))

    init(serverPort: Int, fault: Fault = .cutBody, on503: @escaping @Sendable () -> Void = {}) throws {
        (listener, port) = try LoopbackSocket.listen(backlog: 16)
        self.serverPort = serverPort
        self.fault = fault
        self.on503 = on503
        Thread { [self] in acceptConnections() }.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptConnections() {
        // accept fails once `stop` closes the listener.
        for _ in 0..<1000 {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            guard let server = try? LoopbackSocket.connect(port: serverPort, timeout: 60) else {
                close(client)
                continue
            }
            let finished = DispatchGroup()
            finished.enter()
            finished.enter()
            Thread { [self] in
                forwardRequests(from: client, to: server)
                finished.leave()
            }.start()
            Thread { [self] in
                forwardReplies(from: server, to: client)
                finished.leave()
            }.start()
            finished.notify(queue: .global()) {
                close(client)
                close(server)
            }
        }
    }

    /// Copies the worker's bytes to the server; with `cutBody` it cuts the first update one byte before its body ends.
    private func forwardRequests(from client: Int32, to server: Int32) {
        defer { Self.shutdownBoth(client, server) }
        var bodyLeft: Int?
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        for _ in 0..<1_000_000 {
            let count = read(client, &buffer, buffer.count)
            guard count > 0 else { return }
            var chunk = Array(buffer[0..<count])
            if bodyLeft == nil, let left = startOfFirstUpdate(chunk) { bodyLeft = left }
            if let left = bodyLeft, fault == .cutBody {
                if chunk.count >= left {
                    // The rest of the body is here: forward all of it but its last byte, then cut.
                    chunk = Array(chunk.prefix(left - 1))
                    _ = Self.writeAll(chunk, to: server)
                    return
                }
                bodyLeft = left - chunk.count
            }
            guard Self.writeAll(chunk, to: server) else { return }
        }
    }

    /// Returns, when `chunk` carries the head of the first update request, how many bytes from the start of
    /// `chunk` go up to the end of that request's body.
    private func startOfFirstUpdate(_ chunk: [UInt8]) -> Int? {
        let marker = Array("POST /dcf/update ".utf8)
        let separator = Array("\r\n\r\n".utf8)
        guard let start = Self.firstIndex(of: marker, in: chunk, from: 0),
            let separatorStart = Self.firstIndex(of: separator, in: chunk, from: start)
        else { return nil }
        let head = String(decoding: chunk[start..<separatorStart], as: UTF8.self).lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else { return nil }
        let isFirst = progress.withLock { progress in
            defer { progress.firstUpdate = true }
            return !progress.firstUpdate
        }
        guard isFirst else { return nil }
        return separatorStart + separator.count + length
    }

    private static func firstIndex(of needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
        return (start...(bytes.count - needle.count)).first { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    /// Copies the server's bytes to the worker, running `on503` before the first 503 reply goes on. With
    /// `dropReply` it closes the connection when the final reply to the first update arrives.
    private func forwardReplies(from server: Int32, to client: Int32) {
        defer { Self.shutdownBoth(client, server) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        for _ in 0..<1_000_000 {
            let count = read(server, &buffer, buffer.count)
            guard count > 0 else { return }
            let chunk = Array(buffer[0..<count])
            // An interim `100 Continue` goes on, so that the worker sends the body.
            let interim = chunk.starts(with: Array("HTTP/1.1 100 ".utf8))
            let drops = fault == .dropReply && !interim
                && progress.withLock { progress in
                    guard progress.firstUpdate, !progress.dropped else { return false }
                    progress.dropped = true
                    return true
                }
            if drops { return }
            let first503 = String(decoding: chunk, as: UTF8.self).contains("HTTP/1.1 503")
                && progress.withLock { progress in
                    defer { progress.saw503 = true }
                    return !progress.saw503
                }
            if first503 { on503() }
            guard Self.writeAll(chunk, to: client) else { return }
        }
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    private static func shutdownBoth(_ first: Int32, _ second: Int32) {
        shutdown(first, Int32(SHUT_RDWR))
        shutdown(second, Int32(SHUT_RDWR))
    }
}
