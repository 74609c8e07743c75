// SPDX-License-Identifier: Apache-2.0

/// A launched server that did not behave as a test needs to continue.
struct ServerdTestError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
