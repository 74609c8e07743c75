// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Sends service state to systemd over the `$NOTIFY_SOCKET` datagram protocol, without libsystemd.
///
/// Every method is a no-op when no socket is configured, so daemons call them unconditionally.
/// A failed send is logged as a warning and otherwise ignored, because a missing notification must not stop the
/// service: systemd then reports the start timeout itself. A socket that stays unreachable fails every watchdog
/// ping, so the warning appears at most once per minute, with the count of failures it held back.
public struct SystemdNotifier: Sendable {
    /// The socket path, or an abstract socket name starting with `@`; `nil` disables notifications.
    public let socketPath: String?
    /// How often systemd expects `WATCHDOG=1`, from `WATCHDOG_USEC`; `nil` when the watchdog is off.
    public let watchdogInterval: Duration?
    private let logger: Logger?
    /// Shared by the copies of this notifier, so the server's and the watchdog's sends count together.
    private let failureWarnings = LogRepeatLimit(interval: .seconds(60))

    /// Creates a notifier for an explicit socket, as tests and non-systemd supervisors use it.
    public init(socketPath: String?, watchdogInterval: Duration? = nil, logger: Logger? = nil) {
        self.socketPath = socketPath.flatMap { $0.isEmpty ? nil : $0 }
        self.watchdogInterval = watchdogInterval
        self.logger = logger
    }

    /// Creates a notifier from `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` in `environment`, which
    /// defaults to the process environment. The watchdog is off when `WATCHDOG_PID` names another process.
    public init(environment: [String: String]? = nil, logger: Logger? = nil) {
        let environment = environment ?? ProcessInfo.processInfo.environment
        var interval: Duration?
        if let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 {
            let forThisProcess = environment["WATCHDOG_PID"].map { $0 == String(getpid()) } ?? true
            interval = forThisProcess ? .microseconds(microseconds) : nil
        }
        self.init(socketPath: environment["NOTIFY_SOCKET"], watchdogInterval: interval, logger: logger)
    }

    /// Creates a notifier from the process environment, then removes the variables from it so child processes
    /// (such as an external trainer command) do not send notifications on this service's behalf.
    public static func takeFromEnvironment(logger: Logger? = nil) -> SystemdNotifier {
        let notifier = SystemdNotifier(logger: logger)
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            unsetenv(name)
        }
        return notifier
    }

    public var isEnabled: Bool { socketPath != nil }

    /// Sends `fields` (such as `READY=1`) as one newline-separated datagram.
    /// - Throws: `SystemCallError` when the socket cannot be reached.
    public func send(_ fields: [String]) throws(SystemCallError) {
        guard let socketPath else { return }
        try UnixDatagram.send(fields.joined(separator: "\n"), to: socketPath)
    }

    /// Tells systemd that start-up (or a reload) finished, with an optional status line.
    public func ready(status: String? = nil) {
        notify(["READY=1"] + (status.map { ["STATUS=\($0)"] } ?? []))
    }

    /// Tells systemd that a reload started; call `ready()` when it ends.
    public func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
        notify(["RELOADING=1", "MONOTONIC_USEC=\(microseconds)"])
    }

    /// Tells systemd that shutdown started, with an optional status line.
    public func stopping(status: String? = nil) {
        notify(["STOPPING=1"] + (status.map { ["STATUS=\($0)"] } ?? []))
    }

    /// Sets the one-line status `systemctl status` shows.
    public func status(_ text: String) {
        notify(["STATUS=\(text)"])
    }

    /// Tells the systemd watchdog that the service is alive.
    public func watchdog() {
        notify(["WATCHDOG=1"])
    }

    private func notify(_ fields: [String]) {
        do throws(SystemCallError) {
            try send(fields)
        } catch {
            guard let held = failureWarnings.admit() else { return }
            logger?.warning(
                "systemd notification failed",
                [("state", fields[0]), ("error", "\(error)"), ("repeats_since_last_line", String(held))])
        }
    }
}
