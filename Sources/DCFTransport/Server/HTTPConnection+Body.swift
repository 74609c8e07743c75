// SPDX-License-Identifier: Apache-2.0
import CLinux

extension HTTPConnection {
    /// Passes body bytes to the current request's handler as its `HTTPRequestBodyHandling` requests: drops,
    /// collects or streams them. A streamed piece stops input until the handler calls `requestMore()`.
    func deliverBody(_ chunk: UnsafeRawBufferPointer) {
        guard let request else { return }
        switch request.handling {
        case .discard:
            return
        case .collect(let maxBytes, _):
            guard request.collected.count + chunk.count <= maxBytes else {
                sendServerError(.contentTooLarge, "request body larger than \(maxBytes) bytes")
                return
            }
            request.collected.append(contentsOf: chunk)
        case .stream(let stream):
            request.awaitingDemand = true
            stream.onChunk(Array(chunk), bodyDemand(for: request.number))
        }
    }

    /// Returns the demand that lets request `number` read its next body chunk.
    func bodyDemand(for number: UInt64) -> HTTPBodyDemand {
        let connection = LoopBoundReference(self)
        let loop = loop
        return HTTPBodyDemand(
            resume: { loop.execute { connection.value?.resumeBody(number) } },
            probe: { reply in loop.execute { reply(connection.value?.hasUnreadInput(number) ?? false) } })
    }

    /// Returns whether request `number` is current and bytes have arrived that the server has not passed on yet.
    ///
    /// Only bytes the server could pass on count. A partial TLS record, or the start of a chunk-size line in
    /// `inbound` while the handler waits for more, can only be completed by the client, so a client that stops
    /// after sending one cannot make the server look behind.
    private func hasUnreadInput(_ number: UInt64) -> Bool {
        guard phase == .open, let request, request.number == number else { return false }
        if request.awaitingDemand, !inbound.isEmpty { return true }
        if transport?.hasDecryptedInput == true { return true }
        return CLinux_unread_bytes(fd) > 0
    }

    private func resumeBody(_ number: UInt64) {
        guard phase == .open, let request, request.number == number, request.awaitingDemand else { return }
        request.awaitingDemand = false
        if request.continuePending {
            request.continuePending = false
            if !request.responseStarted { queueInterimContinue() }
        }
        // The body timeout measures the client's silence. Time the handler spent on the last chunk is not the
        // client's, so the clock starts again when the handler requests more.
        lastReadProgress = MonotonicClock.now()
        readInput()
        updateInterest()
        updateTimer()
    }

    /// Marks the current request's body complete and calls the handler's `onComplete` or `onEnd`.
    func handleRequestEnd() {
        guard let request else { return }
        request.bodyComplete = true
        switch request.handling {
        case .discard:
            break
        case .collect(_, let onComplete):
            let body = request.collected
            request.collected = []
            onComplete(body)
        case .stream(let stream):
            stream.onEnd()
        }
    }
}
