// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import Foundation

/// Progress on standard error. On a terminal it is one line, rewritten in place and erased by `finish()` so
/// that the report starts on a clean line. Elsewhere it is a plain line every five seconds.
final class ProgressPrinter {
    private let isTerminal: Bool
    private var lastPlainLine = -5.0

    init(isTerminal: Bool) { self.isTerminal = isTerminal }

    func show(_ tally: RoundTally, rounds: Int, elapsed: Double) {
        if !isTerminal && elapsed - lastPlainLine < 5 { return }
        lastPlainLine = elapsed
        // The oldest open round: while its last workers download the new model, the first ones already upload
        // for the next round, which would show nearly empty counts.
        let current = tally.rounds.first(where: { !$0.isComplete }) ?? tally.rounds.last
        let text = String(
            format: "%6.1f s  registered with model %d/%d  rounds done %d/%d  uploads %d/%d  new model %d/%d  errors %d",
            elapsed, tally.workersWithModel, tally.workerCount, tally.completedRounds, rounds,
            current?.uploadsDone ?? 0, tally.workerCount, current?.workersHoldingNewModel ?? 0, tally.workerCount,
            tally.errors)
        write(isTerminal ? "\r" + text + "\u{1B}[K" : text + "\n")
    }

    func finish() {
        if isTerminal { write("\r\u{1B}[K") }
    }

    private func write(_ text: String) {
        StandardStream.error.write(text)
    }
}
