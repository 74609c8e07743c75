// SPDX-License-Identifier: Apache-2.0
import DCFSupport

/// A failure before the server listens; configuration mistakes exit with `EX_CONFIG` (78).
struct StartupError: Error, CustomStringConvertible, ExitCodeProviding {
    let underlying: any Error
    private let code: ExitCode?

    /// - Parameter exitCode: the exit code; without it, the underlying error's own or `EX_CONFIG`.
    init(_ underlying: any Error, exitCode: ExitCode? = nil) {
        self.underlying = underlying
        code = exitCode
    }

    var description: String { String(describing: underlying) }

    var exitCode: ExitCode {
        if let code { return code }
        if let provider = underlying as? any ExitCodeProviding { return provider.exitCode }
        return .config
    }
}
