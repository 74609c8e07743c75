// SPDX-License-Identifier: Apache-2.0
public import Dispatch
import Foundation
import Synchronization

/// The result of a supervised shutdown: the signal that started it and its outcome.
public struct Termination: Sendable, Equatable, CustomStringConvertible {
    public enum Outcome: Sendable, Equatable {
        /// The drain handler returned before the deadline.
        case drained
        /// The deadline passed first, so the cancel handler ran.
        case deadlineExceeded
        /// A second SIGTERM or SIGINT arrived during the drain, so the cancel handler ran at once.
        case forced
    }

    /// The signal that started the shutdown, or `nil` when `requestShutdown()` started it.
    public let signal: Int32?
    public let outcome: Outcome

    public init(signal: Int32?, outcome: Outcome) {
        self.signal = signal
        self.outcome = outcome
    }

    public var description: String {
        "\(signal.map(SignalSupervisor.name(of:)) ?? "shutdown request") \(outcome)"
    }
}

/// The one owner of SIGTERM, SIGINT and SIGHUP in a daemon.
///
/// SIGTERM or SIGINT starts the drain handler. When the deadline passes before the drain returns, or a second
/// termination signal arrives, the cancel handler runs and returns before the drain task is cancelled. SIGHUP runs
/// the reload handler unless a shutdown is under way. Handlers run on the supervisor's serial queue, the drain
/// handler in a task of its own.
public final class SignalSupervisor: Sendable {
    /// The daemon's actions: drain and cancel run at most once per supervisor, reload once per SIGHUP.
    public struct Handlers: Sendable {
        public var drain: @Sendable () async -> Void
        public var cancel: @Sendable () -> Void
        public var reload: @Sendable () -> Void

        public init(
            drain: @escaping @Sendable () async -> Void, cancel: @escaping @Sendable () -> Void,
            reload: @escaping @Sendable () -> Void = {}
        ) {
            self.drain = drain
            self.cancel = cancel
            self.reload = reload
        }
    }

    /// The signals the supervisor owns.
    public static let signals: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    public let drainDeadline: Duration
    let logger: Logger
    let queue: DispatchQueue
    let state: Mutex<SupervisorState>

    /// - Parameters:
    ///   - drainDeadline: how long the drain handler may run before cancellation.
    ///   - queue: the serial queue signal handlers run on; a private queue by default.
    public init(drainDeadline: Duration, logger: Logger, queue: DispatchQueue? = nil) {
        self.drainDeadline = drainDeadline
        self.logger = logger
        self.queue = queue ?? DispatchQueue(label: "dcf.signal-supervisor")
        self.state = Mutex(SupervisorState())
    }

    /// Takes ownership of the signals and starts delivering them to `handlers`.
    ///
    /// When it returns, the signal sources are armed, so a signal sent afterwards reaches them.
    /// - Precondition: called once.
    public func start(_ handlers: Handlers) {
        let registered = DispatchGroup()
        let sources = Self.signals.map { number in
            SignalSupervisor.ignoreUntilArmed(number)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [weak self] in self?.handle(signal: number) }
            registered.enter()
            source.setRegistrationHandler { registered.leave() }
            return source
        }
        state.withLock { state in
            precondition(state.phase == .idle, "SignalSupervisor.start called twice")
            state.phase = .running
            state.handlers = handlers
            state.sources = SignalSources(sources)
        }
        for source in sources { source.resume() }
        // Dispatch arms a source asynchronously after `resume()`; a signal sent before that would be lost.
        if registered.wait(timeout: .now() + .seconds(5)) == .timedOut {
            logger.warning("signal sources not armed after 5s, signals may be lost until they are")
        }
    }

    /// Starts the same drain as SIGTERM, for a daemon that decides to stop by itself.
    public func requestShutdown() {
        queue.async { self.beginShutdown(signal: nil) }
    }

    /// Returns when shutdown finished: the drain returned, or the cancel handler ran.
    public func waitForTermination() async -> Termination {
        await withCheckedContinuation { continuation in
            let finished = state.withLock { state -> Termination? in
                if let termination = state.termination { return termination }
                state.waiters.append(continuation)
                return nil
            }
            if let finished { continuation.resume(returning: finished) }
        }
    }

    /// Cancels the signal sources; the signals stay ignored, so a later SIGTERM does not kill the process.
    public func stop() {
        let sources = state.withLock { state in
            defer { state.sources = nil }
            return state.sources
        }
        sources?.cancel()
    }

    private func handle(signal number: Int32) {
        if number == SIGHUP {
            reload()
        } else {
            beginShutdown(signal: number)
        }
    }

    private func reload() {
        let handlers = state.withLock { $0.phase == .running ? $0.handlers : nil }
        guard let handlers else {
            logger.notice("reload ignored during shutdown", [("signal", "SIGHUP")])
            return
        }
        logger.info("signal received", [("signal", "SIGHUP")])
        handlers.reload()
    }
}

/// The dispatch sources, kept together so they are cancelled together.
/// Sendable because Dispatch allows `cancel` from any thread and the array is never mutated after `init`.
final class SignalSources: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(_ sources: [any DispatchSourceSignal]) {
        self.sources = sources
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}
