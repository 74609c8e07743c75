// SPDX-License-Identifier: Apache-2.0

/// A problem of the server's state that an admin should know about, such as a round that can never close. The
/// server logs it after each admin change while the problem remains, and returns its text with the change and with
/// the status.
public struct AdminWarning: Sendable {
    public let message: String
    /// The figures behind the warning, logged as `key=value` fields.
    public let fields: [(String, String)]

    public init(_ message: String, _ fields: [(String, String)] = []) {
        self.message = message
        self.fields = fields
    }

    /// The text for the admin client: the message, then its fields in parentheses.
    public var text: String {
        guard !fields.isEmpty else { return message }
        return message + " (" + fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ") + ")"
    }
}
