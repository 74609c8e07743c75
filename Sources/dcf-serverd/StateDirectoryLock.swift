// SPDX-License-Identifier: Apache-2.0
import DCFServer
import DCFSupport
import Foundation

/// An exclusive lock on the state directory for the life of the process, so two servers never share a
/// registry, model versions and round files. The kernel drops it when the process exits, even on `kill -9`.
final class StateDirectoryLock: Sendable {
    private let descriptor: Int32

    /// - Throws: `StateDirectoryLockError` naming the directory when another process holds the lock or
    ///   the lock file cannot be created, and `ConfigurationError` when the directory cannot be created.
    init(directory: URL) throws {
        // The parent of each directory created is flushed, so a power loss cannot take the state directory away
        // with the registry and model versions that are flushed inside it.
        if let problem = DirectoryCreation.create(directory) {
            throw ConfigurationError(
                "state.directory: cannot create the directory \(directory.path): \(problem); "
                    + "name a directory the server's user may create (--state-dir)")
        }
        let path = directory.appendingPathComponent("serverd.lock").path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StateDirectoryLockError(
                description: "cannot create \(path): \(String(cString: strerror(errno))); check state.directory")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw StateDirectoryLockError(
                description: "another dcf-serverd is using the state directory \(directory.path); stop it or "
                    + "choose another state.directory")
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }
}

/// The state directory is in use or unusable; exits with `EX_UNAVAILABLE` (69).
struct StateDirectoryLockError: Error, CustomStringConvertible, ExitCodeProviding {
    let description: String
    var exitCode: ExitCode { .unavailable }
}
