// SPDX-License-Identifier: Apache-2.0

extension HTTPConnection {
    /// Reads at most this many times, and this many bytes, per readiness event, so one fast client cannot hold
    /// the loop.
    private static let readsPerEvent = 64
    private static let bytesPerEvent = 1 << 20

    /// The most unparsed bytes kept while the connection cannot process them: enough for one pipelined
    /// request head plus one read.
    var inboundLimit: Int { limits.maxHeaderBytes + server.readBuffer.count }

    /// Whether received bytes may be parsed now: no request is in progress and the connection stays open for
    /// another, or a request's body is being read and the handler is ready for more.
    ///
    /// A body is read even when the connection closes after the response, so a graceful drain lets an upload in
    /// progress finish.
    var canProcessInput: Bool {
        guard phase == .open else { return false }
        guard let request else { return !closeAfterResponse }
        return !request.bodyComplete && !request.awaitingDemand && !request.responseStarted
    }

    /// Whether to read from the socket. While a streaming handler holds a body chunk, the rest of the body stays
    /// in the socket: reading it ahead would only copy it through `inbound`.
    var wantsToRead: Bool {
        if inputEnded { return false }
        if canProcessInput { return true }
        if let request, request.awaitingDemand, parser.isReadingBody { return false }
        return inbound.count < inboundLimit
    }

    /// Processes kept bytes, then reads from the socket until it would block, the read limit is reached, or
    /// the connection cannot take more input. Consecutive reads fill the loop's read buffer before the bytes
    /// are parsed, so a streaming handler gets up to a buffer's worth in one chunk rather than one TLS record.
    func readInput() {
        if canProcessInput { processInbound() }
        var reads = 0
        var bytes = 0
        while phase == .open, let transport, wantsToRead, reads < Self.readsPerEvent, bytes < Self.bytesPerEvent {
            let room = canProcessInput ? server.readBuffer.count : min(server.readBuffer.count, inboundLimit - inbound.count)
            guard room > 0 else { break }
            var filled = 0
            var stop: TransportResult?
            while filled < room, reads < Self.readsPerEvent {
                reads += 1
                let result = transport.read(into: UnsafeMutableRawBufferPointer(rebasing: server.readBuffer[filled..<room]))
                guard case .done(let count) = result, count > 0 else {
                    stop = result
                    break
                }
                filled += count
            }
            bytes += filled
            if filled > 0 { received(UnsafeRawBufferPointer(rebasing: server.readBuffer[0..<filled])) }
            guard let stop else { continue }
            guard phase == .open else { return }
            switch stop {
            case .done, .wantRead:
                return
            case .wantWrite:
                readWaitsForWritable = true
                return
            case .closed:
                handleEndOfInput()
                return
            case .failed(let message):
                context.logger.debug("connection read failed", [("peer", peer), ("error", message)])
                close(reason: .clientDisconnected)
                return
            }
        }
        if phase == .open, wantsToRead, reads >= Self.readsPerEvent || bytes >= Self.bytesPerEvent {
            // TLS may hold decrypted bytes that epoll cannot report, so continue on the next loop iteration.
            let connection = LoopBoundReference(self)
            loop.execute { connection.value?.continueReading() }
        }
    }

    /// Handles the end of the client's stream. A client that half-closes its connection after a whole request
    /// still gets the response, and the connection closes after it. Otherwise the connection closes at once, so a
    /// parked request's handler gets `onDisconnect`, because TCP cannot distinguish a half-close from a close.
    private func handleEndOfInput() {
        guard transport?.sendsAfterPeerClosed == true, let request, request.bodyComplete, !request.isParked else {
            close(reason: .clientDisconnected)
            return
        }
        inputEnded = true
        closeAfterResponse = true
    }

    private func continueReading() {
        guard phase == .open else { return }
        readInput()
        updateInterest()
        updateTimer()
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        let now = MonotonicClock.now()
        context.metrics.bytesIn.add(bytes.count, ordering: .relaxed)
        lastReadProgress = now
        if let request, !request.bodyComplete, request.bodyDeadline != .max {
            request.bodyDeadline &+= UInt64(bytes.count) * 1_000_000_000 / UInt64(limits.minBodyRate)
        }
        if request == nil, inbound.isEmpty, !parser.hasPartialHead { phaseStart = now }
        guard canProcessInput, inbound.isEmpty else {
            inbound.append(contentsOf: bytes)
            return
        }
        let used = process(bytes)
        if used < bytes.count { inbound.append(contentsOf: bytes[used...]) }
    }

    func processInbound() {
        let data = inbound
        inbound = []
        let used = data.withUnsafeBytes { process($0) }
        if used < data.count { inbound = Array(data[used...]) + inbound }
    }

    /// Parses as much of `bytes` as the connection can act on now and returns how many bytes it used.
    ///
    /// Body bytes are gathered across chunk boundaries and passed to the handler when the request ends, when
    /// `bytes` ends, or when they fill a read buffer, whichever comes first.
    private func process(_ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        var body = PendingBody()
        while canProcessInput {
            if !body.isEmpty,
                parser.isAtRequestEnd || offset == bytes.count || body.count >= server.readBuffer.count
            {
                body.deliver(from: bytes) { deliverBody($0) }
                continue
            }
            if parser.takeEnd() != nil {
                handleRequestEnd()
                continue
            }
            guard offset < bytes.count else { break }
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            do {
                let (consumed, event) = try parser.parse(rest)
                switch event {
                case .head(let head, let framing): handleHead(head, framing: framing)
                case .body(let range): body.add((offset + range.lowerBound)..<(offset + range.upperBound), of: bytes)
                case .end: handleRequestEnd()
                case nil: if consumed == 0 { return offset }
                }
                offset += consumed
            } catch {
                // Body bytes gathered before the error are dropped: the handler gets `onError` instead.
                handleParseError(error)
                return bytes.count
            }
        }
        return offset
    }

    private func handleHead(_ head: HTTPRequestHead, framing: HTTPBodyFraming) {
        requestCount += 1
        let state = RequestState(number: requestCount, head: head, framing: framing)
        if framing != .none, limits.minBodyRate > 0 {
            state.bodyDeadline = MonotonicClock.now() &+ limits.bodyTimeout.nanoseconds
        }
        request = state
        if isOverCapacity {
            sendServerError(.serviceUnavailable, "too many open connections, try again later")
            return
        }
        if context.isDraining.load(ordering: .relaxed) {
            sendServerError(.serviceUnavailable, "server is shutting down")
            return
        }
        let responder = HTTPResponder(loop: loop, connection: self, requestNumber: state.number)
        state.handling = context.handler.handleRequest(head, responder: responder)
        if case .stream(let stream) = state.handling, let onStart = stream.onStart, framing != .none,
            !state.responseStarted
        {
            // Nothing of the body is read, and no 100 Continue sent, until the handler requests the first chunk.
            state.awaitingDemand = true
            state.continuePending = head.expectsContinue
            onStart(bodyDemand(for: state.number))
            return
        }
        // A response sent inside `handleRequest` is queued but not yet started. It replaces the 100 Continue, so
        // the client keeps its body.
        if head.expectsContinue, framing != .none, !state.responseStarted, !responder.isCompleted {
            if case .discard = state.handling { return }
            queueInterimContinue()
        }
    }

    private func handleParseError(_ error: HTTPParseError) {
        context.logger.debug("rejected request", [("peer", peer), ("status", "\(error.status.code)"), ("reason", error.detail)])
        request?.failBody(.invalidBody(error.detail))
        sendServerError(error.status, error.detail)
    }
}
