// SPDX-License-Identifier: Apache-2.0
import Dispatch
import Foundation

/// The supervisor's mutable state, guarded by its mutex.
struct SupervisorState {
    enum Phase: Equatable {
        case idle, running, draining, cancelling, finished
    }

    var phase = Phase.idle
    var handlers: SignalSupervisor.Handlers?
    var sources: SignalSources?
    var drainTask: Task<Void, Never>?
    var shutdownSignal: Int32?
    var termination: Termination?
    var waiters: [CheckedContinuation<Termination, Never>] = []
}

extension SignalSupervisor {
    /// Starts the drain on the first termination request and forces cancellation on the second.
    func beginShutdown(signal number: Int32?) {
        let signalName = number.map(SignalSupervisor.name(of:)) ?? "request"
        let handlers = state.withLock { state -> Handlers? in
            switch state.phase {
            case .running:
                state.phase = .draining
                state.shutdownSignal = number
                return state.handlers
            case .idle, .draining, .cancelling, .finished:
                return nil
            }
        }
        guard let handlers else {
            if state.withLock({ $0.phase == .draining }) {
                logger.warning("second termination signal, cancelling the drain", [("signal", signalName)])
                cancelDrain(outcome: .forced)
            }
            return
        }
        logger.info(
            "draining before shutdown; the process exits when the drain ends, or at the drain deadline without "
                + "waiting for it",
            [("signal", signalName), ("drain_deadline", DurationFormat.format(drainDeadline))])
        let task = Task {
            await handlers.drain()
            self.finish(.drained, from: .draining)
        }
        state.withLock { $0.drainTask = task }
        let deadline = DispatchTime.now() + .nanoseconds(Int(drainDeadline.nanosecondsClamped))
        queue.asyncAfter(deadline: deadline) { [weak self] in
            guard let self, self.state.withLock({ $0.phase == .draining }) else { return }
            self.logger.warning(
                "drain deadline passed, cancelling",
                [("drain_deadline", DurationFormat.format(self.drainDeadline))])
            self.cancelDrain(outcome: .deadlineExceeded)
        }
    }

    /// Runs the cancel handler and then cancels the drain task, once.
    func cancelDrain(outcome: Termination.Outcome) {
        // Leaving `.draining` first keeps the drain task, which returns once cancelled, from reporting `.drained`.
        let (task, handlers) = state.withLock { state -> (Task<Void, Never>?, Handlers?) in
            guard state.phase == .draining else { return (nil, nil) }
            state.phase = .cancelling
            return (state.drainTask, state.handlers)
        }
        guard let handlers else { return }
        // The cancel handler runs before the drain task sees cancellation, so the daemon's hard stop starts before
        // the drain's cleanup, and the order of the two is fixed instead of depending on thread scheduling.
        handlers.cancel()
        task?.cancel()
        finish(outcome, from: .cancelling)
    }

    /// Records the termination and wakes every waiter if the phase is still `phase`; otherwise does nothing.
    func finish(_ outcome: Termination.Outcome, from phase: SupervisorState.Phase) {
        let (termination, waiters) = state.withLock {
            state -> (Termination?, [CheckedContinuation<Termination, Never>]) in
            guard state.phase == phase else { return (nil, []) }
            let termination = Termination(signal: state.shutdownSignal, outcome: outcome)
            state.phase = .finished
            state.termination = termination
            defer { state.waiters = [] }
            return (termination, state.waiters)
        }
        guard let termination else { return }
        logger.info("shutdown finished", [("outcome", "\(outcome)")])
        for waiter in waiters { waiter.resume(returning: termination) }
    }

    /// Returns the conventional name, such as `SIGTERM`.
    public static func name(of signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        default: "signal \(signal)"
        }
    }

    /// Ignores SIGPIPE, so a write to a closed socket returns `EPIPE` instead of killing the process.
    public static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Ignores a signal whose action is still the default, so it cannot kill the process before its dispatch
    /// source is armed. An installed handler (from an earlier source) is kept, because Dispatch relies on it.
    static func ignoreUntilArmed(_ number: Int32) {
        var current = sigaction()
        sigaction(number, nil, &current)
        if current.__sigaction_handler.sa_handler == nil {
            signal(number, SIG_IGN)
        }
    }
}
