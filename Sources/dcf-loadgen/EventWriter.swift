// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization

/// Writes whole event lines to standard output, one `write` per line, from any thread.
final class EventWriter: Sendable {
    private let lock = Mutex(())

    func send(_ event: WorkerEvent) {
        let data = Data(event.line.utf8)
        lock.withLock { _ in FileHandle.standardOutput.write(data) }
    }
}
