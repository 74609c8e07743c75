// SPDX-License-Identifier: Apache-2.0

/// Builds `--help` text from the declarations, so help always lists every option with its unit and default.
enum HelpFormatter {
    static let width = 80

    static func toolHelp(_ tool: CommandLineTool) -> String {
        var lines = ["Usage: \(tool.name) <command> [options]", "", tool.summary, "", "Commands:"]
        let nameWidth = (tool.subcommands.map(\.name.count).max() ?? 0) + 2
        for subcommand in tool.subcommands {
            let marker = subcommand.name == tool.defaultSubcommand ? " (default)" : ""
            lines.append("  " + subcommand.name.padding(nameWidth) + subcommand.summary + marker)
        }
        lines += ["", "Run \"\(tool.name) <command> --help\" for the options of a command.", ""]
        lines += exitStatusLines(tool)
        return lines.joined(separator: "\n") + "\n"
    }

    static func subcommandHelp(_ subcommand: Subcommand, tool: CommandLineTool) -> String {
        let arguments = subcommand.argumentsUsage.map { " " + $0 } ?? ""
        var lines = [
            "Usage: \(tool.name) \(subcommand.name) [options]\(arguments)", "", subcommand.summary, "", "Options:",
        ]
        if let schema = subcommand.schema {
            let fallback = subcommand.defaultConfigPath.map { " Default: \($0), when it exists." } ?? ""
            lines += entry("--config <file>", "Config file to read." + fallback)
            lines += entry("--example-config", "Print an example config file listing every setting, then exit.")
            lines += subcommand.options.flatMap(commandOptionEntry)
            lines += ["", "Settings (in the config file as [section] key = value, or on the command line):"]
            lines += schema.options.flatMap(settingEntry)
        } else {
            lines += subcommand.options.flatMap(commandOptionEntry)
        }
        lines += entry("-h, --help", "Print this help, then exit.")
        lines += entry("--version", "Print the version, then exit.")
        lines += [""] + exitStatusLines(tool)
        return lines.joined(separator: "\n") + "\n"
    }

    private static func settingEntry(_ option: ConfigOption) -> [String] {
        var names = "--\(option.name)=\(option.type.placeholder)"
        if let flag = option.flag { names += ", --\(flag)" }
        let summary = option.typeSummaryLines.flatMap { TextWrapping.wrap($0, width: width - 6) }
        return entry(names, option.help) + summary.map { "      " + $0 }
    }

    private static func commandOptionEntry(_ option: CommandOption) -> [String] {
        let names = "--\(option.name)" + (option.valueName.map { " <\($0)>" } ?? "")
        return entry(names, option.help + (option.defaultValue.map { " Default: \($0)." } ?? ""))
    }

    private static func entry(_ names: String, _ help: String) -> [String] {
        ["  " + names] + TextWrapping.wrap(help, width: width - 6).map { "      " + $0 }
    }

    private static func exitStatusLines(_ tool: CommandLineTool) -> [String] {
        if let exitStatus = tool.exitStatus { return TextWrapping.wrap(exitStatus, width: width) }
        return [
            "Exit status: 0 success, 1 runtime failure, 64 invalid command line,",
            "65 invalid data or rejected request, 66 missing input file,",
            "69 service unavailable, 73 cannot create output file, 74 I/O error,",
            "77 permission denied, 78 invalid configuration.",
        ]
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
