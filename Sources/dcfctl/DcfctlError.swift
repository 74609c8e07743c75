// SPDX-License-Identifier: Apache-2.0
import DCFSupport

/// A failed `dcfctl` command; the message names the value at fault and the fix.
struct DcfctlError: Error, CustomStringConvertible, ExitCodeProviding {
    let description: String
    let exitCode: ExitCode

    init(_ description: String, exitCode: ExitCode) {
        self.description = description
        self.exitCode = exitCode
    }

    /// A bad argument or option value (exit 64).
    static func usage(_ message: String) -> DcfctlError { DcfctlError(message, exitCode: .usage) }

    /// A file named by an option that cannot be read (exit 66).
    static func input(_ message: String) -> DcfctlError { DcfctlError(message, exitCode: .noInput) }

    /// A file named by an option whose contents are malformed (exit 65).
    static func invalidData(_ message: String) -> DcfctlError { DcfctlError(message, exitCode: .dataError) }

    /// The server cannot be reached or the TLS handshake failed (exit 69).
    static func unreachable(_ message: String) -> DcfctlError { DcfctlError(message, exitCode: .unavailable) }

    /// The server rejected the credentials or has the admin API off (exit 77).
    static func denied(_ message: String) -> DcfctlError { DcfctlError(message, exitCode: .noPermission) }

    /// The server rejected the request, for instance an unknown worker id (exit 65).
    static func rejected(_ message: String) -> DcfctlError { DcfctlError(message, exitCode: .dataError) }
}
