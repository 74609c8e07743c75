// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// The server's current TLS context, replaceable at run time: new connections use the new context, open
/// connections keep the one their session was created with.
final class TLSContextHolder: Sendable {
    private let current: Mutex<TLSContext>

    init(_ context: TLSContext) {
        current = Mutex(context)
    }

    var context: TLSContext {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}
