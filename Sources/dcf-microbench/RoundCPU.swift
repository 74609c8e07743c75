// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The CPU each part of a long-poll round uses from the version change to the last response: each server event
/// loop, the server's other threads (dispatch queues, where signature checks run), the benchmark's main thread
/// and the client threads, wherever they run.
struct RoundCPU {
    private let server: ThreadCPU
    private let clients: ThreadCPU?
    private let clientPID: Int32?

    /// Takes the first snapshot: this process and, when the clients run in a child, that process.
    init(clientPID: Int32?) {
        self.clientPID = clientPID
        server = ThreadCPU()
        clients = clientPID.map { ThreadCPU(process: String($0)) }
    }

    /// The CPU time of the calling thread in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`).
    static func threadNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Takes the second snapshot and describes the difference per part, such as
    /// "dcf-http-loop-0 14.1 ms (waited 80.2 ms)".
    ///
    /// - Parameter clientsExited: true after the last round, when client threads may have exited before the
    ///   snapshot; their CPU is then missing, and the text says so.
    func report(clientsExited: Bool) -> String {
        let mainThread = Int(getpid())
        var totals = ThreadCPU().milliseconds(since: server) { name, tid in
            if name.hasPrefix("dcf-http-loop") { return name }
            if name == LongPollClients.threadName { return "clients" }
            // The main thread publishes, then polls for arrivals and takes these snapshots.
            return tid == mainThread ? "bench main thread" : "server other threads"
        }
        if let clientPID, let clients {
            let child = ThreadCPU(process: String(clientPID)).milliseconds(since: clients) { _, _ in "clients" }
            if let part = child["clients"] {
                let total = totals["clients"] ?? (0, 0)
                totals["clients"] = (total.running + part.running, total.waiting + part.waiting)
            }
        }
        if clientsExited, let part = totals.removeValue(forKey: "clients") {
            totals["clients (exited threads not counted)"] = part
        }
        return totals.sorted { $0.key < $1.key }
            .map { String(format: "%@ %.1f ms (waited %.1f ms)", $0.key, $0.value.running, $0.value.waiting) }
            .joined(separator: ", ")
    }
}
