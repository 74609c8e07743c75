// SPDX-License-Identifier: Apache-2.0

/// One problem in a config file, located by file, line, section and key where they are known.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    /// The file name as given to the loader; `nil` for problems not tied to a file.
    public let file: String?
    /// The 1-based line number, or `nil` when the problem is not on one line (a missing required key).
    public let line: Int?
    public let section: String?
    public let key: String?
    /// The problem and the expected form, without the location prefix.
    public let message: String

    public init(file: String?, line: Int?, section: String?, key: String?, message: String) {
        self.file = file
        self.line = line
        self.section = section
        self.key = key
        self.message = message
    }

    /// The issue as one line: `serverd.conf:12: key "port" in [server]: expected an integer 1-65535, found "80a"`.
    public var description: String {
        var text = ""
        switch (file, line) {
        case (let file?, let line?): text = "\(file):\(line)"
        case (let file?, nil): text = file
        case (nil, let line?): text = "line \(line)"
        case (nil, nil): break
        }
        if !text.isEmpty { text += ": " }
        if let key {
            text += "key \"\(key)\"" + (section.map { " in [\($0)]" } ?? "") + ": "
        }
        return text + message
    }
}

/// Config loading failed; `issues` lists every problem found, in file order.
public struct ConfigError: Error, Sendable, CustomStringConvertible, ExitCodeProviding {
    public let issues: [ConfigIssue]

    public init(issues: [ConfigIssue]) {
        self.issues = issues
    }

    /// One line per issue.
    public var description: String { issues.map(\.description).joined(separator: "\n") }

    /// Config errors end the process with `EX_CONFIG` (78).
    public var exitCode: ExitCode { .config }
}
