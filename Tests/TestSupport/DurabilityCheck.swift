// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A file that a reply to a client promises to keep through a power loss, and when the client received the reply.
public struct DurabilityPromise: Sendable, Hashable {
    /// The absolute path of the file.
    public let path: String
    /// When the client had the reply, in microseconds since the epoch (CLOCK_REALTIME).
    public let receivedAt: Int64
    /// The reply, for the failure message: "update of worker 1 accepted into the round from version 2".
    public let reply: String

    public init(path: String, receivedAt: Int64, reply: String) {
        self.path = path
        self.receivedAt = receivedAt
        self.reply = reply
    }
}

/// Checks recorded file-system calls against the three rules that make a file survive a power loss:
/// - its data was flushed (`fsync` or `fdatasync`) after its last write;
/// - its directory was flushed after the create or rename that gave the file its name;
/// - for each directory on its path that was created during the recording, the parent was flushed after the `mkdir`.
///
/// Every flush must start after the step it covers has returned, and must return before the client received the
/// reply.
///
/// The check follows files through renames, so data written under a temporary name and flushed there counts for
/// the name the file is renamed to. Names that no recorded call created are taken to exist and be durable already.
/// NOTE: it checks no removal (a deleted file that a power loss could bring back) and no rename of a directory.
public enum DurabilityCheck {
    /// Returns one message for each rule that `promise` breaks in `calls`, or none when the file was durable in
    /// time.
    public static func violations(of promise: DurabilityPromise, in calls: [FileSystemCall]) -> [String] {
        let state = Replay(calls.filter { $0.start < promise.receivedAt })
        let deadline = promise.receivedAt
        let subject = "\(promise.path) (promised by \"\(promise.reply)\")"
        var found: [String] = []

        guard let binding = state.names[promise.path] else {
            return ["\(subject): no recorded call created the file or renamed a file onto it before the reply"]
        }
        let file = state.files[binding.file]
        if let written = file.lastWriteEnd, !state.flushed(file.syncs, after: written, before: deadline) {
            found.append("\(subject): its data, last written at \(time(written)), was not flushed before the reply")
        }
        let directory = parent(promise.path)
        if binding.since != Replay.predatesRecording,
            !state.flushed(state.directorySyncs[directory, default: []], after: binding.since, before: deadline)
        {
            found.append(
                "\(subject): its name, created at \(time(binding.since)), was not made durable by a flush of "
                    + "\(directory) before the reply")
        }
        var ancestor = directory
        while ancestor != "/" {
            if let created = state.createdDirectories[ancestor],
                !state.flushed(state.directorySyncs[parent(ancestor), default: []], after: created, before: deadline)
            {
                found.append(
                    "\(subject): directory \(ancestor), created at \(time(created)), was not made durable by a flush "
                        + "of \(parent(ancestor)) before the reply")
            }
            ancestor = parent(ancestor)
        }
        return found
    }

    /// Returns the violations of every promise, in order.
    public static func violations(of promises: [DurabilityPromise], in calls: [FileSystemCall]) -> [String] {
        promises.flatMap { violations(of: $0, in: calls) }
    }

    private static func parent(_ path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "/" : parent
    }

    private static func time(_ microseconds: Int64) -> String {
        String(format: "%lld.%06lld", microseconds / 1_000_000, microseconds % 1_000_000)
    }

    /// The files, names and flushes after replaying calls in start order.
    private struct Replay {
        struct File {
            /// When the last change to the data returned.
            var lastWriteEnd: Int64?
            var syncs: [(start: Int64, end: Int64)] = []
        }

        /// The binding time of a name that no recorded call created, which counts as durable.
        static let predatesRecording = Int64.min

        /// The file each name refers to, and when the call that bound the name returned.
        var names: [String: (file: Int, since: Int64)] = [:]
        var files: [File] = []
        var directorySyncs: [String: [(start: Int64, end: Int64)]] = [:]
        /// When each directory made during the recording was created; a removed one is dropped.
        var createdDirectories: [String: Int64] = [:]
        var syncAlls: [(start: Int64, end: Int64)] = []

        init(_ calls: [FileSystemCall]) {
            for call in calls { apply(call) }
        }

        /// Tells whether one of `syncs`, or a `sync` of everything, started at or after `after` and returned before
        /// `before`.
        func flushed(_ syncs: [(start: Int64, end: Int64)], after: Int64, before: Int64) -> Bool {
            (syncs + syncAlls).contains { $0.start >= after && $0.end < before }
        }

        private mutating func apply(_ call: FileSystemCall) {
            let span = (start: call.start, end: call.end)
            switch call.kind {
            case .create(let truncating):
                if let existing = names[call.path] {
                    if truncating { files[existing.file].lastWriteEnd = call.end }
                } else {
                    files.append(File())
                    names[call.path] = (files.count - 1, call.end)
                }
            case .write:
                files[file(at: call.path)].lastWriteEnd = call.end
            case .sync:
                files[file(at: call.path)].syncs.append(span)
                directorySyncs[call.path, default: []].append(span)
            case .syncAll:
                syncAlls.append(span)
            case .rename(let from):
                let moved = names.removeValue(forKey: from)?.file ?? newFile()
                names[call.path] = (moved, call.end)
            case .remove:
                names.removeValue(forKey: call.path)
                createdDirectories.removeValue(forKey: call.path)
            case .makeDirectory:
                createdDirectories[call.path] = call.end
            }
        }

        /// Returns the file at `path`, or a new one for a file that existed before the recording.
        private mutating func file(at path: String) -> Int {
            if let binding = names[path] { return binding.file }
            let file = newFile()
            names[path] = (file, Self.predatesRecording)
            return file
        }

        private mutating func newFile() -> Int {
            files.append(File())
            return files.count - 1
        }
    }
}
