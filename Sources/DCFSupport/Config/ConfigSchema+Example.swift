// SPDX-License-Identifier: Apache-2.0

extension ConfigSchema {
    /// Returns a commented example config file listing every option with its help, type and default.
    ///
    /// Each option appears as a comment line `#key = default`, so removing the `#` sets the default explicitly.
    /// Options without a default appear as `#key =` with a note saying whether they are required.
    /// - Parameter title: comment lines written at the top, such as the program name.
    public func exampleFile(title: [String]) -> String {
        var lines = title.map { "# " + $0 }
        for section in sections {
            lines.append("")
            if let help = sectionHelp[section] { lines.append("# " + help) }
            lines.append("[\(section)]")
            for option in options where option.section == section {
                lines.append("")
                lines += TextWrapping.wrap(option.help, width: 78).map { "# " + $0 }
                lines.append("# " + option.typeSummary)
                lines.append("#\(option.key) =" + (option.defaultValue.map { " \($0)" } ?? ""))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension ConfigOption {
    /// `Expected: an integer 1-65535. Unit: connections. Default: 8443.` as the example file shows it.
    var typeSummary: String { typeSummaryLines.joined(separator: " ") }

    /// The expected form, then the unit and default on a line of their own so wrapping never splits a default.
    var typeSummaryLines: [String] {
        var rest: [String] = []
        if let unit { rest.append("Unit: \(unit).") }
        if let defaultValue {
            rest.append("Default: \(defaultValue).")
        } else {
            rest.append(isRequired ? "Required." : "Unset by default.")
        }
        return ["Expected: \(type.expectation).", rest.joined(separator: " ")]
    }
}

/// Greedy word wrapping for help text and comments.
enum TextWrapping {
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            if !current.isEmpty && current.count + 1 + word.count > width {
                lines.append(current)
                current = ""
            }
            current += (current.isEmpty ? "" : " ") + word
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }
}
