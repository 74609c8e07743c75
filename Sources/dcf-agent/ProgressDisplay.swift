// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation
import Synchronization

/// The agent's way of showing training progress.
enum ProgressStyle {
    /// One line rewritten in place, for a terminal.
    case tty
    /// A line at each quarter of a round, without the time and level of a log line. Used only when requested.
    case plain
    case off

    /// Maps `auto` to `tty` on a terminal and to `off` otherwise, because a file, a pipe or the journal should
    /// contain only log lines. The info-level log already marks the start and end of each round.
    init(setting: String) {
        switch setting {
        case "tty": self = .tty
        case "plain": self = .plain
        case "off": self = .off
        default: self = isatty(STDERR_FILENO) == 1 ? .tty : .off
        }
    }
}

/// Writes the progress of the current round to standard error.
final class ProgressDisplay: Sendable {
    let style: ProgressStyle
    private let lastQuarter = Mutex(-1)

    init(style: ProgressStyle) {
        self.style = style
    }

    /// Reports `fraction` (0...1) of the training of `round`.
    func training(round: Int, version: String, fraction: Double) {
        switch style {
        case .off:
            return
        case .tty:
            let width = 30
            let filled = Int((fraction * Double(width)).rounded(.down))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            write("\r\u{1B}[2Kround \(round) (model v\(version)) training [\(bar)] \(Int(fraction * 100))%")
        case .plain:
            let quarter = Int(fraction * 4)
            let isNew = lastQuarter.withLock { last in
                defer { last = quarter }
                return quarter > last
            }
            if isNew && quarter > 0 { write("round \(round) (model v\(version)): training \(quarter * 25)%\n") }
        }
    }

    /// Reports that the round's update of `bytes` is being sent.
    func uploading(round: Int, bytes: Int) {
        switch style {
        case .off: return
        case .tty: write("\r\u{1B}[2Kround \(round): uploading \(bytes) bytes")
        case .plain: write("round \(round): uploading \(bytes) bytes\n")
        }
    }

    /// Ends the round's progress line with `status`.
    func finish(round: Int, status: String) {
        lastQuarter.withLock { $0 = -1 }
        switch style {
        case .off: return
        case .tty: write("\r\u{1B}[2Kround \(round): \(status)\n")
        case .plain: write("round \(round): \(status)\n")
        }
    }

    private func write(_ text: String) {
        StandardStream.error.write(text)
    }
}
