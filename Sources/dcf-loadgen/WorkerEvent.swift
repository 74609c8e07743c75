// SPDX-License-Identifier: Apache-2.0
import Foundation

/// One line a worker process writes to standard output for the coordinator:
/// `event KIND WORKER VERSION NANOSECONDS BYTES [MESSAGE]`.
struct WorkerEvent: Sendable {
    enum Kind: String, Sendable {
        /// The worker holds a new global model; `version` is its version and `bytes` its size.
        case model
        /// The worker starts sending its update trained from `version`.
        case uploadStart = "upload-start"
        /// The server accepted the update trained from `version`.
        case uploadDone = "upload-done"
        /// A failed request, a rejected update or a warning the worker logged; `message` says which.
        case error
    }

    let kind: Kind
    let worker: Int
    let version: UInt64
    /// `MonotonicClock` time of the event.
    let time: UInt64
    let bytes: Int
    var message = ""

    var line: String {
        let text = message.replacingOccurrences(of: "\n", with: " ")
        return "event \(kind.rawValue) \(worker) \(version) \(time) \(bytes) \(text)\n"
    }

    /// Parses a line written by `line`; returns nil for any other line.
    init?(line: Substring) {
        let fields = line.split(separator: " ", maxSplits: 6, omittingEmptySubsequences: false)
        guard fields.count >= 6, fields[0] == "event", let kind = Kind(rawValue: String(fields[1])),
            let worker = Int(fields[2]), let version = UInt64(fields[3]), let time = UInt64(fields[4]),
            let bytes = Int(fields[5])
        else { return nil }
        self.init(kind: kind, worker: worker, version: version, time: time, bytes: bytes)
        if fields.count == 7 { message = String(fields[6]) }
    }

    init(kind: Kind, worker: Int, version: UInt64, time: UInt64 = MonotonicClock.nanoseconds(), bytes: Int = 0,
         message: String = "")
    {
        self.kind = kind
        self.worker = worker
        self.version = version
        self.time = time
        self.bytes = bytes
        self.message = message
    }
}
