// SPDX-License-Identifier: Apache-2.0

/// Process exit status of the dcf executables, following the BSD `sysexits.h` numbering.
public enum ExitCode: Int32, Sendable, CaseIterable {
    /// The command finished its work.
    case success = 0
    /// A runtime failure that no more specific code describes.
    case failure = 1
    /// The command line was invalid: an unknown option, a missing or malformed value.
    case usage = 64
    /// An input file was read but its content is invalid.
    case dataError = 65
    /// An input file does not exist or cannot be read.
    case noInput = 66
    /// A required service (a server, a socket address) is unavailable.
    case unavailable = 69
    /// An internal error: a bug in the program.
    case software = 70
    /// An output file cannot be created.
    case cannotCreate = 73
    /// Reading or writing a file failed.
    case ioError = 74
    /// A temporary failure; running the command again may succeed.
    case temporaryFailure = 75
    /// The process lacks a permission it needs.
    case noPermission = 77
    /// A config file or setting is invalid.
    case config = 78
}

/// An error that states which exit status the process should end with when it reaches the top level.
public protocol ExitCodeProviding: Error {
    var exitCode: ExitCode { get }
}

extension ExitCode {
    /// Returns the exit status for `error`: its own code when it provides one, otherwise `.failure`.
    public static func of(_ error: any Error) -> ExitCode {
        (error as? any ExitCodeProviding)?.exitCode ?? .failure
    }
}
