// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The admin username and password `dcfctl` sends with HTTP Basic authentication.
struct AdminCredentialSource {
    static let usernameVariable = "DCF_SERVER_ADMIN_USERNAME"
    static let passwordVariable = "DCF_SERVER_ADMIN_PASSWORD"

    let username: String
    let password: String

    /// Reads the credentials from `file` when given (one `username:password` line, `#` comments allowed),
    /// else from the two environment variables.
    static func load(file: String?, environment: [String: String]) throws -> AdminCredentialSource {
        if let file { return try load(file: file) }
        let username = environment[usernameVariable] ?? ""
        let password = environment[passwordVariable]
        guard !username.isEmpty, let password else {
            let missing =
                username.isEmpty && password == nil
                ? "no admin credentials" : username.isEmpty ? "\(usernameVariable) is not set" : "\(passwordVariable) is not set"
            throw DcfctlError.usage(
                "\(missing): set \(usernameVariable) and \(passwordVariable), or pass "
                    + "--credentials-file <file> holding one 'username:password' line")
        }
        guard !username.contains(":") else {
            // Basic authentication splits the name from the password at the first colon. The value is left out of
            // the message because it may be 'username:password', the credentials file's form.
            throw DcfctlError.usage(
                "\(usernameVariable) contains a colon, which HTTP Basic authentication cannot carry in a username; "
                    + "set it to the name alone and the password in \(passwordVariable)")
        }
        return AdminCredentialSource(username: username, password: password)
    }

    private static func load(file: String) throws -> AdminCredentialSource {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw DcfctlError.input("--credentials-file \"\(file)\": the file does not exist or is not readable")
        }
        let lines = text.split(whereSeparator: \.isNewline).filter {
            let trimmed = $0.trimmingCharacters(in: .whitespaces)
            return !trimmed.isEmpty && !trimmed.hasPrefix("#")
        }
        guard lines.count == 1 else {
            throw DcfctlError.invalidData(
                "--credentials-file \"\(file)\": expected exactly one 'username:password' line, found \(lines.count) "
                    + "lines that are not comments")
        }
        guard let colon = lines[0].firstIndex(of: ":"), colon != lines[0].startIndex else {
            throw DcfctlError.invalidData(
                "--credentials-file \"\(file)\": its line is not 'username:password' (a name, a colon, then the "
                    + "password)")
        }
        return AdminCredentialSource(
            username: String(lines[0][..<colon]), password: String(lines[0][lines[0].index(after: colon)...]))
    }

    /// The value of the `Authorization` header.
    var authorization: String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }
}
