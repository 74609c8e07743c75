// SPDX-License-Identifier: Apache-2.0
public import Dispatch

/// Sends `WATCHDOG=1` at half the systemd watchdog interval while a health check passes.
///
/// Skipping a ping when `isHealthy` returns false lets systemd restart a service whose event loop is stuck,
/// which is the point of the watchdog: a timer alone would keep pinging from a healthy thread.
/// Safe to use from any thread because the timer is configured once in `init` and `cancel` may be called
/// from any thread, which Dispatch allows.
public final class SystemdWatchdog: @unchecked Sendable {
    private let timer: DispatchSourceTimer

    /// Starts pinging, or returns `nil` when `notifier` has no watchdog interval.
    public init?(
        notifier: SystemdNotifier, queue: DispatchQueue = DispatchQueue(label: "dcf.systemd-watchdog"),
        isHealthy: @escaping @Sendable () -> Bool = { true }
    ) {
        guard notifier.isEnabled, let interval = notifier.watchdogInterval else { return nil }
        let period = DispatchTimeInterval.nanoseconds(Int(max(interval.nanosecondsClamped / 2, 1_000_000)))
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now(), repeating: period, leeway: .milliseconds(100))
        timer.setEventHandler {
            if isHealthy() { notifier.watchdog() }
        }
        timer.resume()
    }

    /// Stops pinging; systemd will restart the service after its interval unless the process exits first.
    public func cancel() {
        timer.cancel()
    }

    deinit {
        timer.cancel()
    }
}
