// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import Foundation
import Synchronization

/// Logs rejected requests at `notice`, at most `linesPerSecond` lines per second for each error code.
///
/// A flood of bad requests (a misconfigured agent retrying, a scanner) would otherwise fill the journal. Lines
/// over the limit are counted, and the first line of the next second for that code reports how many were
/// suppressed. Only the method, the path without its query, the error code, the client address and the worker id
/// are logged: never other headers, which carry signatures and admin credentials.
final class RejectionLog: Sendable {
    private struct Window {
        var second: Int64
        var written: Int
        var suppressed: Int
    }

    private let logger: Logger
    private let linesPerSecond: Int
    private let windows = Mutex([String: Window]())

    init(logger: Logger, linesPerSecond: Int = 5) {
        self.logger = logger
        self.linesPerSecond = linesPerSecond
    }

    /// Logs one rejection unless its code already used this second's lines.
    ///
    /// - Parameters:
    ///   - address: the client's IP address, if known, so an operator can find where wrong admin credentials or
    ///     bad signatures come from.
    ///   - worker: the worker the request named, if any, logged in its short form.
    func record(
        code: String, status: Int, method: String, target: String, address: String? = nil, worker: WorkerID? = nil
    ) {
        let now = Int64(Date().timeIntervalSince1970)
        let suppressedBefore: Int? = windows.withLock { windows in
            var window = windows[code] ?? Window(second: now, written: 0, suppressed: 0)
            var reported = 0
            if window.second != now {
                reported = window.suppressed
                window = Window(second: now, written: 0, suppressed: 0)
            }
            defer { windows[code] = window }
            guard window.written < linesPerSecond else {
                window.suppressed += 1
                return nil
            }
            window.written += 1
            return reported
        }
        guard let suppressedBefore else { return }
        var fields = [
            ("code", code), ("status", String(status)), ("method", method),
            ("path", String(target.prefix { $0 != "?" }.prefix(200))),
        ]
        if let address { fields.append(("address", address)) }
        if let worker { fields.append(("worker", worker.short)) }
        if suppressedBefore > 0 { fields.append(("suppressed", String(suppressedBefore))) }
        logger.notice("rejected request", fields)
    }
}
