// SPDX-License-Identifier: Apache-2.0

/// The connection's record of the request it is handling.
final class RequestState {
    enum Response {
        case notStarted
        /// The head was sent and body parts follow through `HTTPResponseWriter`.
        case streaming(chunked: Bool)
        /// The whole response is queued.
        case complete
    }

    let number: UInt64
    let head: HTTPRequestHead
    let framing: HTTPBodyFraming
    var handling = HTTPRequestBodyHandling.discard
    var collected: [UInt8] = []
    /// Set when the parser reports the end of the request, also for a request without a body.
    var bodyComplete = false
    /// A chunk was passed to a streaming handler, which has not yet asked for more.
    var awaitingDemand = false {
        didSet {
            guard awaitingDemand != oldValue else { return }
            let now = MonotonicClock.now()
            if awaitingDemand {
                demandWaitStart = now
            } else if bodyDeadline != .max {
                // Time the handler held the body back is not the client's.
                bodyDeadline &+= now &- demandWaitStart
            }
        }
    }
    /// When the body must be complete under `HTTPServerLimits.minBodyRate`, in `MonotonicClock` nanoseconds;
    /// `.max` when the rate is not checked.
    var bodyDeadline = UInt64.max
    private var demandWaitStart: UInt64 = 0
    /// The client expects `100 Continue`, which is sent when the handler requests the first body chunk.
    var continuePending = false
    var response = Response.notStarted
    var keepAlive = false
    private var bodyFailed = false
    private var parkTimer: TimerID?
    private var onDisconnect: (@Sendable () -> Void)?

    init(number: UInt64, head: HTTPRequestHead, framing: HTTPBodyFraming) {
        self.number = number
        self.head = head
        self.framing = framing
    }

    var responseStarted: Bool {
        if case .notStarted = response { return false }
        return true
    }

    var isParked: Bool { onDisconnect != nil }

    func park(timer: TimerID?, onDisconnect: @escaping @Sendable () -> Void, metrics: HTTPServerMetrics) {
        if !isParked { metrics.parkedRequests.add(1, ordering: .relaxed) }
        parkTimer = timer
        self.onDisconnect = onDisconnect
    }

    /// Ends parking because a response started; the disconnect callback will not run.
    func unpark(metrics: HTTPServerMetrics, loop: EventLoop) {
        if let parkTimer { loop.cancel(parkTimer) }
        parkTimer = nil
        guard isParked else { return }
        onDisconnect = nil
        metrics.parkedRequests.subtract(1, ordering: .relaxed)
    }

    /// Tells a streaming body handler, once, that no further chunks come.
    func failBody(_ error: HTTPRequestError) {
        guard !bodyComplete, !bodyFailed else { return }
        bodyFailed = true
        if case .stream(let stream) = handling { stream.onError(error) }
    }

    /// Releases the request because the connection closes: runs the disconnect callback of a parked request
    /// and fails an unfinished body.
    func abandon(reason: HTTPRequestError, metrics: HTTPServerMetrics, loop: EventLoop) {
        let callback = onDisconnect
        unpark(metrics: metrics, loop: loop)
        failBody(reason)
        if !responseStarted { callback?() }
        collected = []
    }
}
