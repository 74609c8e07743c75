// SPDX-License-Identifier: Apache-2.0
import DCFSupport

/// A failure before the server listens; configuration mistakes exit with `EX_CONFIG` (78).
struct StartupError: Error, CustomStringConvertible, ExitCodeProviding {
    let underlying: any Error

    init(_ underlying: any Error) {
        self.underlying = underlying
    }

    var description: String { String(describing: underlying) }

    var exitCode: ExitCode {
        if let provider = underlying as? any ExitCodeProviding { return provider.exitCode }
        return .config
    }
}
