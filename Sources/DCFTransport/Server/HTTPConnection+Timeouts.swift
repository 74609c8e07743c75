// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Glibc

extension HTTPConnection {
    enum Timeout: String {
        case firstByte, handshake, idle, header, body, bodyRate, write, linger
    }

    /// How long a closing connection drops input while waiting for the client to close.
    static let lingerTime: Duration = .seconds(2)

    /// Returns the `HTTPServerLimits` property that sets `kind` (the lingering close has a fixed time) and its
    /// value, for log lines and 408 responses.
    func setting(of kind: Timeout) -> (name: String, value: String) {
        let name: String
        let value: Duration
        switch kind {
        case .firstByte: (name, value) = ("firstByteTimeout", limits.firstByteTimeout)
        case .handshake: (name, value) = ("handshakeTimeout", limits.handshakeTimeout)
        case .idle: (name, value) = ("idleTimeout", limits.idleTimeout)
        case .header: (name, value) = ("headerTimeout", limits.headerTimeout)
        case .body: (name, value) = ("bodyTimeout", limits.bodyTimeout)
        case .bodyRate: return ("minBodyRate", "\(limits.minBodyRate) bytes/s")
        case .write: (name, value) = ("writeTimeout", limits.writeTimeout)
        case .linger: (name, value) = ("lingering close", Self.lingerTime)
        }
        return (name, DurationFormat.format(value))
    }

    /// The timeout that applies in the current state and when it expires, or nil when none applies (a request
    /// waiting for its handler, which sets its own limit with `HTTPResponder.park`).
    func currentTimeout() -> (Timeout, UInt64)? {
        switch phase {
        case .closed:
            return nil
        case .detecting:
            let handshakeDeadline = phaseStart &+ limits.handshakeTimeout.nanoseconds
            let firstByteDeadline = phaseStart &+ limits.firstByteTimeout.nanoseconds
            if !firstBytesArrived, firstByteDeadline < handshakeDeadline { return (.firstByte, firstByteDeadline) }
            return (.handshake, handshakeDeadline)
        case .handshaking:
            return (.handshake, phaseStart &+ limits.handshakeTimeout.nanoseconds)
        case .lingering:
            return (.linger, phaseStart &+ Self.lingerTime.nanoseconds)
        case .open:
            // Records sealed from the end of a response wait in the TLS transport after the queue holds only its
            // end marker. They count as unsent data, so a client that stops reading there is timed out too.
            if writeBlocked || writeWaitsForReadable, outbound.hasData || (transport?.pendingOutput ?? 0) > 0 {
                return (.write, lastWriteProgress &+ limits.writeTimeout.nanoseconds)
            }
            if let request {
                guard !request.bodyComplete, !request.awaitingDemand, !request.responseStarted else { return nil }
                let silenceDeadline = lastReadProgress &+ limits.bodyTimeout.nanoseconds
                if request.bodyDeadline < silenceDeadline { return (.bodyRate, request.bodyDeadline) }
                return (.body, silenceDeadline)
            }
            if parser.hasPartialHead || !inbound.isEmpty {
                return (.header, phaseStart &+ limits.headerTimeout.nanoseconds)
            }
            return (.idle, phaseStart &+ limits.idleTimeout.nanoseconds)
        }
    }

    /// Makes sure a timer fires no later than the current deadline. A timer that fires early finds a later
    /// deadline and reschedules itself, so deadlines that move forward cost no timer operations.
    func updateTimer() {
        guard let (_, deadline) = currentTimeout() else {
            if let timer { loop.cancel(timer) }
            timer = nil
            return
        }
        if let timer {
            guard deadline < timerDeadline else { return }
            loop.cancel(timer)
        }
        timerDeadline = deadline
        timer = loop.schedule(at: deadline) { [weak self] in self?.timerFired() }
    }

    /// Applies the current timeout if it has expired at `now`, else schedules the timer again. Tests pass a
    /// later `now` to expire a deadline without waiting for it.
    func timerFired(now: UInt64 = MonotonicClock.now()) {
        timer = nil
        guard let (kind, deadline) = currentTimeout() else { return }
        guard now >= deadline else {
            updateTimer()
            return
        }
        if kind == .firstByte, hasUnreadInput() {
            // A loop that is behind may not have read bytes that already arrived, so the client did send in time.
            firstBytesArrived = true
            updateTimer()
            return
        }
        let setting = setting(of: kind)
        if kind == .handshake, let held = Self.handshakeFailures.admit() {
            context.logger.info(
                "TLS handshake timed out",
                [("peer", peer), ("limit", "\(limits.handshakeTimeout)"), ("repeats_since_last_line", String(held))])
        } else if kind == .firstByte, let held = Self.handshakeFailures.admit() {
            context.logger.info(
                "closed a TLS connection that sent no byte",
                [("peer", peer), ("limit", setting.value), ("setting", setting.name),
                 ("repeats_since_last_line", String(held))])
        } else if kind == .write, let held = Self.writeTimeouts.admit() {
            // A client that stops reading a response loses the rest of it, so an operator sees why.
            context.logger.info(
                "closed a connection whose client stopped reading its response",
                [("peer", peer), ("limit", setting.value), ("repeats_since_last_line", String(held))])
        } else {
            context.logger.debug(
                "connection timed out",
                [("peer", peer), ("timeout", kind.rawValue), ("setting", setting.name), ("limit", setting.value)])
        }
        switch kind {
        case .firstByte, .handshake, .idle, .write, .linger:
            close(reason: .timedOut)
        case .header:
            sendServerError(.requestTimeout, "request head not received within \(setting.value) (\(setting.name))")
        case .body:
            request?.failBody(.timedOut)
            sendServerError(.requestTimeout, "no request body bytes received for \(setting.value) (\(setting.name))")
        case .bodyRate:
            request?.failBody(.timedOut)
            sendServerError(
                .requestTimeout, "request body arrived slower than \(setting.value) on average (\(setting.name))")
        }
    }

    /// Returns whether the socket's receive queue has bytes that the loop has not read.
    private func hasUnreadInput() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0
    }
}
