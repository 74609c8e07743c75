// SPDX-License-Identifier: Apache-2.0
import Foundation

/// System calls behind the client's connections: connect with a timeout, poll, send and receive.
enum ClientSocket {
    /// Opens a non-blocking TCP connection to the first address of `host` that accepts it.
    static func connect(host: String, port: Int, server: String, deadlines: RequestDeadlines, timeout: Duration)
        throws -> Int32
    {
        let addresses = try resolve(host: host, port: port, server: server)
        defer { freeaddrinfo(addresses) }
        var lastError: HTTPClientError?
        var entry: UnsafeMutablePointer<addrinfo>? = addresses
        while let address = entry?.pointee {
            entry = address.ai_next
            do {
                return try connect(to: address, server: server, deadlines: deadlines, timeout: timeout)
            } catch let error as HTTPClientError {
                if error.timeoutPhase != nil { throw error }
                lastError = error
            }
        }
        throw lastError ?? HTTPClientError.hostNotFound(server, reason: "no addresses")
    }

    /// Looks up the TCP addresses of `host`; the caller frees the list with `freeaddrinfo`.
    static func resolve(host: String, port: Int, server: String) throws -> UnsafeMutablePointer<addrinfo> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let result else {
            throw HTTPClientError.hostNotFound(server, reason: String(cString: gai_strerror(status)))
        }
        return result
    }

    private static func connect(to address: addrinfo, server: String, deadlines: RequestDeadlines, timeout: Duration)
        throws -> Int32
    {
        let socketType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let descriptor = socket(address.ai_family, socketType, 0)
        guard descriptor >= 0 else { throw HTTPClientError.io(server, "socket", errno: errno) }
        do {
            if Foundation.connect(descriptor, address.ai_addr, address.ai_addrlen) != 0 {
                guard errno == EINPROGRESS || errno == EINTR else { throw connectError(server, errno) }
                try wait(descriptor, for: Int16(POLLOUT), deadlines.nextWait(limit: timeout, phase: .connect), server)
                var socketError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &socketError, &length)
                if socketError != 0 { throw connectError(server, socketError) }
            }
            var enabled: Int32 = 1
            setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &enabled, socklen_t(MemoryLayout<Int32>.size))
            return descriptor
        } catch {
            close(descriptor)
            throw error
        }
    }

    private static func connectError(_ server: String, _ code: Int32) -> HTTPClientError {
        code == ECONNREFUSED ? .connectionRefused(server) : .connectFailed(server, errno: code)
    }

    /// Waits until `descriptor` reports one of `events`, an error or a hang-up.
    ///
    /// - Throws: `HTTPClientError` timed out in `wait.phase` when the wait expires first.
    static func wait(_ descriptor: Int32, for events: Int16, _ wait: RequestDeadlines.Wait, _ server: String) throws {
        var entry = pollfd(fd: descriptor, events: events, revents: 0)
        while true {
            let ready = poll(&entry, 1, wait.milliseconds)
            if ready > 0 { return }
            if ready == 0 { throw HTTPClientError.timedOut(server, wait.phase, after: wait.limit) }
            if errno != EINTR { throw HTTPClientError.io(server, "poll", errno: errno) }
        }
    }

    /// Whether the socket has no pending input and no hang-up, as an idle keep-alive connection should.
    static func isIdleAndOpen(_ descriptor: Int32) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 0
    }
}
