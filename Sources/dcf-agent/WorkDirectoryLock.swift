// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation

/// An exclusive lock on the training command's work directory for the life of the agent.
///
/// Each round starts by deleting the `round-*` directories there, so two agents sharing the directory delete
/// each other's files mid-round. On the same round number, one agent's command could also read the other's
/// global model or write the update the other sends. The kernel drops the lock when the process exits, even on `kill -9`.
final class WorkDirectoryLock: Sendable {
    static let fileName = ".dcf-agent.lock"

    private let descriptor: Int32

    /// Creates `directory` when it is missing and locks it.
    ///
    /// - Throws: `AgentSettingsError` naming the directory when another process holds the lock or the directory
    ///   or lock file cannot be created.
    init(directory: URL) throws(AgentSettingsError) {
        try Self.createDirectory(directory)
        let path = directory.appendingPathComponent(Self.fileName).path
        // Close-on-exec, so a training command never inherits the lock and holds it after the agent is gone.
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            var info = stat()
            guard lstat(path, &info) == 0 else {
                throw AgentSettingsError(
                    "trainer.work_dir: cannot create \(path): \(reason); check that the agent's user may write to "
                        + "\(directory.path)")
            }
            throw AgentSettingsError(
                "trainer.work_dir: \(path) exists but cannot be opened for writing (\(reason); owner uid "
                    + "\(info.st_uid), the agent runs as uid \(getuid())); remove it, or make it a regular file the "
                    + "agent's user may write")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw AgentSettingsError(
                "trainer.work_dir \(directory.path) is in use by another dcf-agent; give each agent a work directory "
                    + "of its own (--work-dir)")
        }
        self.descriptor = descriptor
    }

    /// Creates `directory` and its missing parents unless it is a directory already.
    private static func createDirectory(_ directory: URL) throws(AgentSettingsError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw AgentSettingsError(
                    "trainer.work_dir \(directory.path) exists and is not a directory; name a directory (--work-dir)")
            }
            return
        }
        if let problem = DirectoryCreation.create(directory) {
            throw AgentSettingsError(
                "trainer.work_dir: cannot create the directory \(directory.path): \(problem); "
                    + "name a directory the agent's user may create (--work-dir)")
        }
    }

    deinit {
        close(descriptor)
    }
}
