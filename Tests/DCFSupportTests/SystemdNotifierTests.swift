// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Synchronization
import Testing

@Suite struct SystemdNotifierTests {
    @Test func readyReachesPathSocket() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("notify.sock")
        let receiver = try DatagramReceiver(address: path)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": path])
        #expect(notifier.isEnabled)
        notifier.ready(status: "serving 0 workers")
        #expect(receiver.receive() == "READY=1\nSTATUS=serving 0 workers")
        notifier.stopping()
        #expect(receiver.receive() == "STOPPING=1")
        notifier.watchdog()
        #expect(receiver.receive() == "WATCHDOG=1")
        notifier.reloading()
        let reloading = try #require(receiver.receive())
        #expect(reloading.hasPrefix("RELOADING=1\nMONOTONIC_USEC="))
    }

    @Test func readyReachesAbstractSocket() throws {
        let name = "@dcf-support-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let receiver = try DatagramReceiver(address: name)
        let notifier = SystemdNotifier(socketPath: name)
        try notifier.send(["READY=1"])
        #expect(receiver.receive() == "READY=1")
    }

    @Test func unsetSocketIsNoOp() throws {
        let notifier = SystemdNotifier(environment: [:])
        #expect(notifier.isEnabled == false)
        #expect(notifier.watchdogInterval == nil)
        try notifier.send(["READY=1"])
        notifier.ready()
    }

    @Test func missingSocketThrowsAndLogs() throws {
        let directory = try TemporaryDirectory()
        let lines = Lines()
        let logger = Logger(component: "test", sink: LogSink(level: .info) { lines.append($0) })
        let notifier = SystemdNotifier(socketPath: directory.file("absent.sock"), logger: logger)
        let error = #expect(throws: SystemCallError.self) { try notifier.send(["READY=1"]) }
        #expect(error?.call == "sendto")
        #expect(error?.errno == ENOENT)
        notifier.ready()
        #expect(lines.all.count == 1)
        #expect(lines.all.first?.contains(#"systemd notification failed state="READY=1""#) == true)
    }

    /// A socket that stays unreachable, as when `NOTIFY_SOCKET` names a path that does not exist or is not a
    /// socket, costs one warning, not one per watchdog ping.
    @Test func repeatedFailuresLogOnce() throws {
        let directory = try TemporaryDirectory()
        let notFile = directory.file("not-a-socket")
        try Data("x".utf8).write(to: URL(fileURLWithPath: notFile))
        for path in [directory.file("absent.sock"), notFile] {
            let lines = Lines()
            let logger = Logger(component: "test", sink: LogSink(level: .info) { lines.append($0) })
            let notifier = SystemdNotifier(socketPath: path, watchdogInterval: .seconds(1), logger: logger)
            notifier.ready()
            for _ in 0..<100 { notifier.watchdog() }
            #expect(lines.all.count == 1, "\(lines.all)")
            #expect(lines.all.first?.contains(#"state="READY=1""#) == true, "\(lines.all)")
        }
    }

    /// A receiver that stops reading fills its queue. A send then fails after a bounded wait instead of blocking
    /// for as long as the receiver lives, which stopped dcf-serverd's reload, and with it SIGTERM, for good.
    @Test func fullQueueFailsInsteadOfBlocking() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("notify.sock")
        let receiver = try DatagramReceiver(address: path)
        let notifier = SystemdNotifier(socketPath: path)
        let outcome = Mutex<(sent: Int, error: SystemCallError?)>((0, nil))
        let finished = DispatchSemaphore(value: 0)
        Thread {
            // The kernel queues at most net.unix.max_dgram_qlen datagrams per socket: 10 by default, 512 where
            // systemd sets it.
            for _ in 0..<2000 {
                do throws(SystemCallError) {
                    try notifier.send(["WATCHDOG=1"])
                    outcome.withLock { $0.sent += 1 }
                } catch {
                    outcome.withLock { $0.error = error }
                    break
                }
            }
            finished.signal()
        }.start()
        // A generous bound that only a blocked send exceeds; it measures no speed.
        #expect(finished.wait(timeout: .now() + 60) == .success, "a send to the full queue blocked")
        let (sent, error) = outcome.withLock { $0 }
        #expect(sent > 0)
        #expect(error?.errno == EAGAIN, "\(String(describing: error))")
        withExtendedLifetime(receiver) {}
    }

    @Test func watchdogIntervalFromEnvironment() {
        let mine = SystemdNotifier(environment: [
            "NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "\(getpid())",
        ])
        #expect(mine.watchdogInterval == .seconds(30))
        let other = SystemdNotifier(environment: [
            "NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1",
        ])
        #expect(other.watchdogInterval == nil)
        let invalid = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "soon"])
        #expect(invalid.watchdogInterval == nil)
    }

    @Test func watchdogPingsWhileHealthy() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("notify.sock")
        let receiver = try DatagramReceiver(address: path)
        let notifier = SystemdNotifier(socketPath: path, watchdogInterval: .milliseconds(20))
        let watchdog = try #require(SystemdWatchdog(notifier: notifier))
        defer { watchdog.cancel() }
        #expect(receiver.receive() == "WATCHDOG=1")
        #expect(receiver.receive() == "WATCHDOG=1")
        #expect(SystemdWatchdog(notifier: SystemdNotifier(socketPath: path)) == nil)
    }
}

/// Collects log lines from a sink.
final class Lines: Sendable {
    private let storage = Mutex<[String]>([])

    func append(_ line: String) { storage.withLock { $0.append(line) } }

    var all: [String] { storage.withLock { $0 } }
}
