// SPDX-License-Identifier: Apache-2.0

/// A duration or size string that could not be parsed; `description` names the text and the accepted form.
public struct UnitParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
