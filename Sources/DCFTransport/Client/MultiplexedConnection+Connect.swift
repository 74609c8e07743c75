// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Opening the connection: a non-blocking TCP connect to each resolved address in turn, then the TLS handshake.
extension MultiplexedConnection {
    /// Starts connecting; called by `MultiplexedClientShared` once a connect slot is free.
    func startConnect() {
        holdsConnectSlot = true
        connect(addressIndex: 0)
    }

    private func connect(addressIndex: Int) {
        state = .connecting(addressIndex: addressIndex)
        stepStart = MonotonicClock.now()
        let address = shared.addresses[addressIndex]
        let family = address.withUnsafeBytes { $0.load(fromByteOffset: 0, as: sa_family_t.self) }
        let socketType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        descriptor = socket(Int32(family), socketType, 0)
        guard descriptor >= 0 else { return fail(.io(server, "socket", errno: errno)) }
        shared.openedConnections += 1
        let status = address.withUnsafeBytes { raw in
            Foundation.connect(descriptor, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        let connectErrno = errno
        rearmTimer()
        do {
            try shared.loop.register(descriptor, events: .writable, handler: self)
            interest = .writable
        } catch {
            return fail(.io(server, error.call, errno: error.code))
        }
        if status != 0 && connectErrno != EINPROGRESS {
            connectFailed(addressIndex: addressIndex, code: connectErrno)
        }
        // Otherwise the socket becomes writable once the connect finished or failed.
    }

    func finishTCPConnect(addressIndex: Int) {
        var socketError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &socketError, &length)
        guard socketError == 0 else { return connectFailed(addressIndex: addressIndex, code: socketError) }
        var enabled: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &enabled, socklen_t(MemoryLayout<Int32>.size))
        guard let context = shared.tlsContext else { return becomeReady() }
        do {
            // The host is both the SNI name and the name checked against the certificate, as in HTTPClient.
            session = try TLSSession(context: context, fileDescriptor: descriptor, serverName: shared.host)
        } catch let error as TLSError {
            return fail(.tls(server, error))
        } catch {
            return fail(.invalidConfiguration(server, "\(error)"))
        }
        state = .handshaking
        stepStart = MonotonicClock.now()
        rearmTimer()
        continueHandshake()
    }

    /// Tries the next address, or fails the exchange after the last one.
    private func connectFailed(addressIndex: Int, code: Int32) {
        shared.loop.deregister(descriptor)
        Foundation.close(descriptor)
        descriptor = -1
        interest = []
        let next = addressIndex + 1
        if next < shared.addresses.count { return connect(addressIndex: next) }
        fail(code == ECONNREFUSED ? .connectionRefused(server) : .connectFailed(server, errno: code))
    }

    func continueHandshake() {
        guard let session else { return }
        switch session.handshake() {
        case .done: becomeReady()
        case .wantRead: setInterest(.readable)
        case .wantWrite: setInterest([.readable, .writable])
        case .closed: fail(.connectionClosed(server, while: "performing the TLS handshake"))
        case .failed(let error): fail(.tls(server, error))
        }
    }

    private func becomeReady() {
        state = .ready
        if holdsConnectSlot {
            holdsConnectSlot = false
            shared.connectFinished()
        }
        if exchange != nil {
            lastActivity = MonotonicClock.now()
            rearmTimer()
            writeRequest()
        } else {
            setInterest(.readable)
        }
    }
}
