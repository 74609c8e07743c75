// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
public import Foundation

/// The HTTP Basic credentials that guard `/admin`.
public struct AdminCredentials: Sendable {
    public static let usernameVariable = "DCF_SERVER_ADMIN_USERNAME"
    public static let passwordVariable = "DCF_SERVER_ADMIN_PASSWORD"

    private let usernameDigest: [UInt8]
    private let passwordDigest: [UInt8]

    /// Creates credentials; neither part may be empty and the username may not contain `:`,
    /// because Basic authentication separates the two with the first colon.
    public init(username: String, password: String) throws {
        guard !username.isEmpty, !password.isEmpty else {
            throw ConfigurationError("the admin username and password must both be non-empty")
        }
        guard !username.contains(":") else {
            throw ConfigurationError("the admin username must not contain ':' (HTTP Basic separates it with one)")
        }
        usernameDigest = try SHA256.hash(Data(username.utf8)).bytes
        passwordDigest = try SHA256.hash(Data(password.utf8)).bytes
    }

    /// Loads credentials from the environment or from `file`; returns nil when neither sets any,
    /// which turns the admin API off.
    ///
    /// - Throws: `ConfigurationError` when only one variable is set, when a variable and the file are both set,
    ///   or when the file is unreadable or not a single `username:password` line.
    public static func load(environment: [String: String], file: URL?) throws -> AdminCredentials? {
        let username = environment[usernameVariable].flatMap { $0.isEmpty ? nil : $0 }
        let password = environment[passwordVariable].flatMap { $0.isEmpty ? nil : $0 }
        if let file, username != nil || password != nil {
            let setVariables = [(usernameVariable, username), (passwordVariable, password)].filter { $0.1 != nil }.map(\.0)
            throw ConfigurationError(
                "admin credentials are set both in the environment (\(setVariables.joined(separator: " and "))) and in "
                    + "\(file.path) (admin.credentials_file); unset \(usernameVariable) and \(passwordVariable) in "
                    + "the server's environment, or remove admin.credentials_file")
        }
        switch (username, password, file) {
        case (nil, nil, nil): return nil
        case (nil, nil, let file?): return try load(file: file)
        case (let username?, let password?, nil): return try AdminCredentials(username: username, password: password)
        default:
            throw ConfigurationError("set both \(usernameVariable) and \(passwordVariable), or neither")
        }
    }

    /// Reads a file whose one non-comment line is `username:password`; `#` lines and blank lines are skipped.
    public static func load(file: URL) throws -> AdminCredentials {
        let contents: String
        do {
            contents = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw ConfigurationError("cannot read admin credentials file \(file.path): \(error.localizedDescription)")
        }
        return try parse(contents, path: file.path)
    }

    static func parse(_ contents: String, path: String) throws -> AdminCredentials {
        // "\r\n" is one Character in Swift, so splitting on "\n" alone would keep it inside a Windows line.
        let lines = contents.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated().filter {
            let line = $0.element.trimmingCharacters(in: .whitespaces)
            return !line.isEmpty && !line.hasPrefix("#")
        }
        guard lines.count == 1, let (index, line) = lines.first else {
            throw ConfigurationError("\(path): expected exactly one line \"username:password\", found \(lines.count)")
        }
        guard let colon = line.firstIndex(of: ":") else {
            throw ConfigurationError("\(path):\(index + 1): expected \"username:password\"; the line has no ':'")
        }
        do {
            return try AdminCredentials(
                username: String(line[..<colon]), password: String(line[line.index(after: colon)...]))
        } catch let error as ConfigurationError {
            throw ConfigurationError("\(path):\(index + 1): \(error.description)")
        }
    }

    /// Returns whether an `Authorization` header carries these credentials.
    ///
    /// Digests of both parts are compared in constant time and both comparisons always run, so the time
    /// taken reveals neither which part was wrong nor how much of it matched.
    public func accepts(authorization: String?) -> Bool {
        guard let (username, password) = Self.decodeBasic(authorization),
            let givenUser = try? SHA256.hash(Data(username.utf8)).bytes,
            let givenPassword = try? SHA256.hash(Data(password.utf8)).bytes
        else { return false }
        let userMatches = ConstantTime.equals(givenUser, usernameDigest)
        let passwordMatches = ConstantTime.equals(givenPassword, passwordDigest)
        return userMatches && passwordMatches
    }

    /// Splits `Basic <base64(username:password)>` into its parts.
    static func decodeBasic(_ header: String?) -> (String, String)? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let data = Data(base64Encoded: parts[1].trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}
