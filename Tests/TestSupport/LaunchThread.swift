// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The thread that starts every `LaunchedProcess`. It never ends, so it lives as long as the test process.
///
/// The kernel sends the parent-death signal that `LaunchedProcess` sets (`PR_SET_PDEATHSIG`) when the thread
/// that started the child ends, not when its process does. Swift concurrency and Dispatch end idle worker
/// threads, so a child started on one of them could be killed while the test still uses it.
final class LaunchThread: @unchecked Sendable {
    // @unchecked Sendable: `pending` is used only under `condition`.
    static let shared = LaunchThread()

    private let condition = NSCondition()
    private var pending: [() -> Void] = []

    private init() {
        let thread = Thread { [self] in serve() }
        thread.name = "LaunchedProcess launcher"
        thread.start()
    }

    /// Runs `body` on the launch thread, waits for it and returns its result.
    func run<Value>(_ body: @escaping () throws -> Value) throws -> Value {
        let finished = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<Value, any Error>?
        condition.lock()
        pending.append {
            result = Result { try body() }
            finished.signal()
        }
        condition.signal()
        condition.unlock()
        finished.wait()
        return try result!.get()
    }

    /// Runs the closures handed to `run`, one at a time, until the process ends. It must not return, because
    /// the children it started would get their parent-death signal.
    private func serve() -> Never {
        while true {
            condition.lock()
            while pending.isEmpty { condition.wait() }
            let next = pending.removeFirst()
            condition.unlock()
            next()
        }
    }
}
