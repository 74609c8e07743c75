// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Synchronization
import Testing

/// Sends real signals to the test process. Serialized, because every supervisor in the process receives every signal.
@Suite(.serialized) struct SignalSupervisorTests {
    private let logger = Logger(component: "signals", sink: LogSink(level: .critical) { _ in })

    @Test func sigtermRunsDrain() async throws {
        let supervisor = SignalSupervisor(drainDeadline: .seconds(600), logger: logger)
        let events = EventLog()
        supervisor.start(.init(drain: { events.record("drain") }, cancel: { events.record("cancel") }))
        defer { supervisor.stop() }

        kill(getpid(), SIGTERM)
        let termination = try await bounded { await supervisor.waitForTermination() }
        #expect(termination == Termination(signal: SIGTERM, outcome: .drained))
        #expect(events.all == ["drain"])
        // A late waiter gets the same result at once.
        #expect(await supervisor.waitForTermination() == termination)
    }

    /// The drain log line labels the deadline drain_deadline, written as config durations are (20s), and states
    /// that the process exits at it.
    @Test func drainLogNamesDeadline() async throws {
        let lines = Mutex<[String]>([])
        let sink = LogSink(level: .info) { line in lines.withLock { $0.append(line) } }
        let supervisor = SignalSupervisor(
            drainDeadline: .seconds(20), logger: Logger(component: "signals", sink: sink))
        supervisor.start(.init(drain: {}, cancel: {}))
        defer { supervisor.stop() }

        kill(getpid(), SIGTERM)
        _ = try await bounded { await supervisor.waitForTermination() }
        let draining = lines.withLock { $0 }.filter { $0.contains("draining before shutdown") }
        #expect(draining.count == 1, "\(draining)")
        let line = try #require(draining.first)
        #expect(line.contains("drain_deadline=20s"), "\(line)")
        #expect(line.contains("exits"), "\(line)")
    }

    @Test func sighupRunsReload() async throws {
        let supervisor = SignalSupervisor(drainDeadline: .seconds(600), logger: logger)
        let events = EventLog()
        supervisor.start(.init(drain: {}, cancel: {}, reload: { events.record("reload") }))
        defer { supervisor.stop() }

        kill(getpid(), SIGHUP)
        try await bounded { while events.all.count < 1 { try await Task.sleep(for: .milliseconds(5)) } }
        kill(getpid(), SIGHUP)
        try await bounded { while events.all.count < 2 { try await Task.sleep(for: .milliseconds(5)) } }
        #expect(events.all == ["reload", "reload"])
    }

    @Test func deadlineCancelsDrain() async throws {
        let supervisor = SignalSupervisor(drainDeadline: .milliseconds(100), logger: logger)
        let events = EventLog()
        let handlers = SignalSupervisor.Handlers(
            drain: {
                events.record("drain started")
                try? await Task.sleep(for: .seconds(3600))
                events.record(Task.isCancelled ? "drain cancelled" : "drain slept")
            },
            cancel: { events.record("cancel") }
        )
        supervisor.start(handlers)
        defer { supervisor.stop() }

        kill(getpid(), SIGINT)
        let termination = try await bounded { await supervisor.waitForTermination() }
        #expect(termination == Termination(signal: SIGINT, outcome: .deadlineExceeded))
        #expect(events.all.prefix(2) == ["drain started", "cancel"])
        try await bounded { while events.all.count < 3 { try await Task.sleep(for: .milliseconds(5)) } }
        #expect(events.all.last == "drain cancelled")
    }

    @Test func secondSignalForcesCancel() async throws {
        let supervisor = SignalSupervisor(drainDeadline: .seconds(600), logger: logger)
        let events = EventLog()
        let handlers = SignalSupervisor.Handlers(
            drain: {
                events.record("drain started")
                try? await Task.sleep(for: .seconds(3600))
            },
            cancel: { events.record("cancel") },
            reload: { events.record("reload") }
        )
        supervisor.start(handlers)
        defer { supervisor.stop() }

        kill(getpid(), SIGTERM)
        try await bounded { while events.all.isEmpty { try await Task.sleep(for: .milliseconds(5)) } }
        kill(getpid(), SIGHUP)
        kill(getpid(), SIGTERM)
        let termination = try await bounded { await supervisor.waitForTermination() }
        #expect(termination == Termination(signal: SIGTERM, outcome: .forced))
        #expect(events.all == ["drain started", "cancel"], "reload must not run during a drain")
    }

    @Test func requestShutdownWithoutSignal() async throws {
        let supervisor = SignalSupervisor(drainDeadline: .seconds(600), logger: logger)
        let events = EventLog()
        supervisor.start(.init(drain: { events.record("drain") }, cancel: { events.record("cancel") }))
        defer { supervisor.stop() }
        supervisor.requestShutdown()
        let termination = try await bounded { await supervisor.waitForTermination() }
        #expect(termination == Termination(signal: nil, outcome: .drained))
        #expect(events.all == ["drain"])
    }
}

/// Ordered record of handler calls.
final class EventLog: Sendable {
    private let events = Mutex<[String]>([])

    func record(_ event: String) { events.withLock { $0.append(event) } }

    var all: [String] { events.withLock { $0 } }
}

struct TimedOut: Error {}

/// Runs `body`, failing with `TimedOut` after 30 seconds so a lost signal fails the test instead of hanging it.
func bounded<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(30))
            throw TimedOut()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
