// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFTransport
import Foundation

/// The `loop` client mode of the long-poll benchmark: one `MultiplexedHTTPClient` thread drives every worker's
/// keep-alive TLS connection, so no thread waits per worker. It runs in the child `--longpoll-clients` process
/// and writes the same event lines as the thread modes.
///
/// Ordering: a completion records its arrival time first and adds the worker's next poll to a queue. One task
/// signs and sends at most `signingSlice` queued polls and, while more wait, queues itself again with
/// `execute`. Queued tasks run only after the loop has handled every readiness event of an `epoll_wait`, so
/// between two slices every response readable at that moment is read and parsed. Real workers also poll again at
/// once, but each on its own machine, where signing its next poll delays no other worker's response; here one
/// thread plays them all, and a read waits behind at most one slice of signatures (about 1 ms).
final class LongPollLoopClients: @unchecked Sendable {
    // @unchecked Sendable: every mutable property is used only on the client's loop thread.
    private let client: MultiplexedHTTPClient
    private let workers: [WaitingWorker]
    private let rounds: Int
    private let hold: Duration
    private var unfinishedWorkers: Int
    /// Next polls waiting to be signed, in the order their responses arrived.
    private var queuedPolls: [(index: Int, round: Int, nonce: String)] = []
    private var queuedPollsStart = 0
    /// The maximum number of polls one task signs before the loop looks for readable responses again.
    private static let signingSlice = 16
    /// Event lines not yet written to stdout.
    private var pendingLines: [UInt8] = []
    private let finished = DispatchSemaphore(value: 0)

    private init(workers: [WaitingWorker], port: Int, trustedCAFile: String, rounds: Int, hold: Duration) throws {
        client = try MultiplexedHTTPClient(
            host: "127.0.0.1", port: port, connectionCount: workers.count,
            configuration: HTTPClientConfiguration(
                transport: .tls(.client(trustedCAFile: trustedCAFile, serverName: "localhost")),
                connectTimeout: .seconds(60), idleTimeout: hold),
            threadName: LongPollClients.threadName)
        self.workers = workers
        self.rounds = rounds
        self.hold = hold
        unfinishedWorkers = workers.count
    }

    /// Runs every worker for `rounds` long polls and returns once each has finished or failed.
    static func run(workers: [WaitingWorker], port: Int, trustedCAFile: String, rounds: Int, hold: Duration) throws {
        let clients = try LongPollLoopClients(
            workers: workers, port: port, trustedCAFile: trustedCAFile, rounds: rounds, hold: hold)
        clients.client.execute {
            for index in workers.indices { clients.fetchNonce(index) }
        }
        clients.finished.wait()
        clients.client.shutdown()
    }

    /// Fetches the worker's first nonce; later polls use the `DCF-Next-Nonce` of the previous response.
    private func fetchNonce(_ index: Int) {
        let request: HTTPClientRequest
        do {
            request = try workers[index].nonceRequest()
        } catch {
            return fail(index, "\(error)")
        }
        client.send(request, on: index) { [self] result in
            do {
                poll(index, round: 0, nonce: try WaitingWorker.nonce(from: result.get()))
            } catch {
                fail(index, "\(error)")
            }
        }
    }

    private func poll(_ index: Int, round: Int, nonce: String) {
        let request: HTTPClientRequest
        do {
            request = try workers[index].longPollRequest(
                knownVersion: ModelVersion(UInt64(round + 1)), hold: hold, nonce: nonce)
        } catch {
            return fail(index, "\(error)")
        }
        client.send(request, on: index) { [self] result in
            pollFinished(index, round: round, result: result)
        }
    }

    private func pollFinished(_ index: Int, round: Int, result: Result<HTTPClientResponse, HTTPClientError>) {
        let instant = ArrivalLog.now()
        let response: HTTPClientResponse
        do {
            response = try result.get()
            try WaitingWorker.requireOK(response, of: "long poll")
        } catch {
            return fail(index, "\(error)")
        }
        record(.arrival(round: round, instant: instant))
        guard round + 1 < rounds else { return workerFinished() }
        guard let nonce = response.headers[DCFHeader.nextNonce] else {
            return fail(index, "the long-poll response has no \(DCFHeader.nextNonce) header")
        }
        if queuedPollsStart == queuedPolls.count {
            client.execute { [self] in sendQueuedPolls() }
        }
        queuedPolls.append((index, round + 1, nonce))
    }

    /// Signs and sends one slice of the queued polls, then queues itself again while polls remain.
    private func sendQueuedPolls() {
        let end = min(queuedPolls.count, queuedPollsStart + Self.signingSlice)
        for next in queuedPolls[queuedPollsStart..<end] { poll(next.index, round: next.round, nonce: next.nonce) }
        queuedPollsStart = end
        guard queuedPollsStart == queuedPolls.count else {
            client.execute { [self] in sendQueuedPolls() }
            return
        }
        queuedPolls.removeAll(keepingCapacity: true)
        queuedPollsStart = 0
    }

    /// Buffers an event line; the first line after a write queues the next write, ahead of the polls that
    /// the same readiness events queue.
    private func record(_ event: LongPollClients.Event) {
        if pendingLines.isEmpty {
            client.execute { [self] in writePendingLines() }
        }
        pendingLines.append(contentsOf: LongPollClients.line(for: event).utf8)
    }

    private func writePendingLines() {
        // One thread writes this pipe, so lines cannot interleave even when a write is split.
        var offset = 0
        pendingLines.withUnsafeBytes { bytes in
            while offset < bytes.count {
                let written = Glibc.write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
        pendingLines.removeAll(keepingCapacity: true)
    }

    private func fail(_ index: Int, _ message: String) {
        record(.failure("worker \(index): \(message)"))
        workerFinished()
    }

    private func workerFinished() {
        unfinishedWorkers -= 1
        if unfinishedWorkers == 0 {
            // The last lines go out before the process may exit.
            writePendingLines()
            finished.signal()
        }
    }
}
