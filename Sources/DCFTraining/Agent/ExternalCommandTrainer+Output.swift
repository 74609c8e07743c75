// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Synchronization

/// Reads one output stream of the training command on its own thread, logs each line and keeps the
/// last lines for error messages.
///
/// The reads block, so they run on a dedicated thread instead of the concurrency pool.
final class CommandOutputReader: Sendable {
    /// Lines longer than this are cut, so one huge line cannot flood the log.
    static let maximumLineLength = 1_000
    /// Lines logged per stream and round; later lines are only kept for the tail.
    static let maximumLoggedLines = 10_000

    private struct State {
        var tail: [String] = []
        var loggedLines = 0
        var pending = Data()
    }

    private let handle: FileHandle
    private let streamName: String
    private let logger: Logger
    private let tailLength: Int
    private let state = Mutex(State())
    private let finished = DispatchSemaphore(value: 0)

    /// Creates a reader of `handle` that logs lines as `<streamName>: <line>` and keeps `tailLength` lines.
    init(handle: FileHandle, streamName: String, logger: Logger, tailLength: Int) {
        self.handle = handle
        self.streamName = streamName
        self.logger = logger
        self.tailLength = tailLength
    }

    /// Starts reading until end of file or a read error.
    func start() {
        Thread.detachNewThread { [self] in
            readUntilEnd()
            finished.signal()
        }
    }

    /// Waits until the stream reached end of file; returns false if `deadline` passed first.
    func waitUntilFinished(deadline: DispatchTime) -> Bool {
        finished.wait(timeout: deadline) == .success
    }

    /// The last lines read, oldest first.
    var tail: [String] {
        state.withLock { $0.tail }
    }

    private func readUntilEnd() {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let descriptor = handle.fileDescriptor
        while true {
            // read(2) returns the bytes the pipe contains now, but FileHandle.read(upToCount:) would wait for a full buffer.
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 {
                logger.warning("reading the command's \(streamName) failed", [("errno", "\(errno)")])
                break
            }
            if count == 0 { break }
            append(Data(buffer[0..<count]))
        }
        flushPending()
        try? handle.close()
    }

    private func append(_ chunk: Data) {
        let lines: [Data] = state.withLock { state in
            state.pending.append(chunk)
            var lines: [Data] = []
            while let newline = state.pending.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(state.pending[state.pending.startIndex..<newline])
                state.pending = Data(state.pending[(newline + 1)...])
            }
            // A stream without newlines still produces lines, so `pending` stays bounded.
            if state.pending.count > Self.maximumLineLength * 4 {
                lines.append(state.pending)
                state.pending = Data()
            }
            return lines
        }
        lines.forEach(record)
    }

    private func flushPending() {
        let rest = state.withLock { state in
            defer { state.pending = Data() }
            return state.pending
        }
        if !rest.isEmpty { record(rest) }
    }

    private func record(_ bytes: Data) {
        var line = String(decoding: bytes, as: UTF8.self)
        if line.hasSuffix("\r") { line.removeLast() }
        if line.count > Self.maximumLineLength {
            line = String(line.prefix(Self.maximumLineLength)) + " [cut]"
        }
        let logged: Int = state.withLock { state in
            state.tail.append(line)
            if state.tail.count > tailLength { state.tail.removeFirst(state.tail.count - tailLength) }
            state.loggedLines += 1
            return state.loggedLines
        }
        if logged <= Self.maximumLoggedLines {
            logger.info("\(streamName): \(line)")
        } else if logged == Self.maximumLoggedLines + 1 {
            logger.warning(
                "the command wrote over \(Self.maximumLoggedLines) lines to \(streamName); "
                    + "later lines of this round are not logged")
        }
    }
}
