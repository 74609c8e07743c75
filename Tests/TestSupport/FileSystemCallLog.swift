// SPDX-License-Identifier: Apache-2.0
import Foundation

/// One file-system call that matters for durability, with the wall-clock times (CLOCK_REALTIME, microseconds since
/// the epoch) at which the tracer saw it start and return. `start` is no later than the call really started and
/// `end` no earlier than it really returned, because the traced thread is stopped while the tracer takes each time.
public struct FileSystemCall: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// `open` or `openat` with `O_CREAT`; it creates the name only when nothing has it yet. `truncating` is
        /// `O_TRUNC`, which changes the data of a file that already exists.
        case create(truncating: Bool)
        /// Any change to the file's data or size: `write`, `pwrite64`, `writev`, `pwritev`, `ftruncate`, `fallocate`.
        case write
        /// `fsync` or `fdatasync` of the file or directory at `path`.
        case sync
        /// `sync` or `syncfs`, which flush every file.
        case syncAll
        /// `rename`, `renameat` or `renameat2` of `from` onto `path`.
        case rename(from: String)
        /// `unlink`, `unlinkat` or `rmdir`.
        case remove
        /// `mkdir` or `mkdirat`.
        case makeDirectory
    }

    public let kind: Kind
    /// The absolute path the call acted on (for a rename, the target).
    public let path: String
    public let start: Int64
    public let end: Int64

    public init(_ kind: Kind, _ path: String, start: Int64, end: Int64) {
        self.kind = kind
        self.path = path
        self.start = start
        self.end = end
    }
}

/// Reads the output of `strace -ff -ttt -T -y` into `FileSystemCall`s.
///
/// Each output line is one completed call, for example
/// `1796505705.552339 fsync(3</srv/state/models>) = 0 <0.000527>`: the start time in seconds, the call with its
/// arguments, where `-y` adds the path to every file descriptor, the result, and the time spent in the call. Failed
/// calls, signals, calls on sockets and pipes and calls not listed in `tracedCalls` are skipped.
public enum FileSystemCallLog {
    /// The system calls to trace: every call glibc uses for the operations of `FileSystemCall.Kind` on x86-64 and
    /// arm64 Linux. `straceArguments` leaves out the names that arm64 lacks (`open`, `creat`, `rename`, `unlink`,
    /// `rmdir`, `mkdir`), because strace rejects them there.
    /// NOTE: the test has run on x86-64 only.
    public static let tracedCalls = [
        "open", "openat", "openat2", "creat", "write", "pwrite64", "writev", "pwritev", "pwritev2", "ftruncate",
        "truncate", "fallocate", "fsync", "fdatasync", "sync", "syncfs", "rename", "renameat", "renameat2", "unlink",
        "unlinkat", "rmdir", "mkdir", "mkdirat",
    ]

    /// Returns the arguments that make strace write one file per traced thread, `<outputPrefix>.<tid>`, and then run
    /// the command that follows them. With `--seccomp-bpf` only the traced calls stop the program. Where the kernel
    /// rejects that filter, strace prints a warning and traces every call, more slowly.
    public static func straceArguments(outputPrefix: String) -> [String] {
        #if arch(x86_64)
            let calls = tracedCalls
        #else
            let calls = tracedCalls.filter { !["open", "creat", "rename", "unlink", "rmdir", "mkdir"].contains($0) }
        #endif
        return [
            "-f", "-ff", "--seccomp-bpf", "-ttt", "-T", "-y", "-qq", "-s", "0", "-o", outputPrefix,
            "-e", "trace=" + calls.joined(separator: ","),
        ]
    }

    /// Reads every file `<outputPrefix>.<tid>` and returns the calls of all threads, ordered by start time.
    public static func read(outputPrefix: String) throws -> [FileSystemCall] {
        let directory = (outputPrefix as NSString).deletingLastPathComponent
        let stem = (outputPrefix as NSString).lastPathComponent + "."
        var calls: [FileSystemCall] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasPrefix(stem) {
            let text = try String(contentsOfFile: (directory as NSString).appendingPathComponent(name), encoding: .utf8)
            calls += parse(text)
        }
        return calls.sorted { ($0.start, $0.end) < ($1.start, $1.end) }
    }

    /// Parses the lines of one strace output file; lines that are no successful traced call are skipped.
    public static func parse(_ text: String) -> [FileSystemCall] {
        text.split(separator: "\n").compactMap { parseLine(String($0)) }
    }

    static func parseLine(_ line: String) -> FileSystemCall? {
        let characters = Array(line)
        guard let space = characters.firstIndex(of: " "), let start = microseconds(String(characters[..<space])),
            let open = characters[space...].firstIndex(of: "("),
            let close = matchingParenthesis(characters, from: open)
        else { return nil }
        let name = String(characters[(space + 1)..<open])
        let arguments = splitArguments(characters[(open + 1)..<close])
        // The rest reads ` = RESULT <DURATION>`; a failed call has a negative result.
        let rest = String(characters[(close + 1)...])
        guard rest.hasPrefix(" = "), !rest.hasPrefix(" = -"), !rest.hasPrefix(" = ?"),
            let durationStart = rest.lastIndex(of: "<"), rest.hasSuffix(">"),
            let duration = microseconds(String(rest[rest.index(after: durationStart)..<rest.index(before: rest.endIndex)]))
        else { return nil }
        let result = String(rest.dropFirst(3)[..<durationStart]).trimmingCharacters(in: .whitespaces)
        guard let (kind, path) = classify(name, arguments, result: result), path.hasPrefix("/") else { return nil }
        return FileSystemCall(kind, path, start: start, end: start + duration)
    }

    /// Maps one call to its kind and path, or nil for a call on something other than a file path.
    private static func classify(_ name: String, _ arguments: [String], result: String) -> (FileSystemCall.Kind, String)? {
        func argument(_ index: Int) -> String? { index < arguments.count ? arguments[index] : nil }
        switch name {
        case "open", "openat", "openat2", "creat":
            let flags = name == "creat" ? "O_CREAT|O_TRUNC" : argument(name == "open" ? 1 : 2) ?? ""
            guard flags.contains("O_CREAT"), let path = descriptorPath(result) else { return nil }
            return (.create(truncating: flags.contains("O_TRUNC")), path)
        case "write", "pwrite64", "writev", "pwritev", "pwritev2", "ftruncate", "fallocate":
            return argument(0).flatMap(descriptorPath).map { (.write, $0) }
        case "truncate":
            return argument(0).flatMap(unquoted).map { (.write, $0) }
        case "fsync", "fdatasync":
            return argument(0).flatMap(descriptorPath).map { (.sync, $0) }
        case "sync", "syncfs":
            return (.syncAll, "/")
        case "rename":
            guard let from = argument(0).flatMap(unquoted), let to = argument(1).flatMap(unquoted) else { return nil }
            return (.rename(from: from), to)
        case "renameat", "renameat2":
            guard let from = resolve(argument(0), argument(1)), let to = resolve(argument(2), argument(3)) else {
                return nil
            }
            return (.rename(from: from), to)
        case "unlink", "rmdir":
            return argument(0).flatMap(unquoted).map { (.remove, $0) }
        case "unlinkat":
            return resolve(argument(0), argument(1)).map { (.remove, $0) }
        case "mkdir":
            return argument(0).flatMap(unquoted).map { (.makeDirectory, $0) }
        case "mkdirat":
            return resolve(argument(0), argument(1)).map { (.makeDirectory, $0) }
        default:
            return nil
        }
    }

    /// Returns the path `-y` prints after a descriptor (`5</srv/state/a>`), or nil for a descriptor that is no file
    /// path (`socket:[…]`, `pipe:[…]`) or whose file was deleted.
    static func descriptorPath(_ text: String) -> String? {
        guard let open = text.firstIndex(of: "<"), text.hasSuffix(">") else { return nil }
        let path = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
        guard path.hasPrefix("/"), !path.hasSuffix(" (deleted)") else { return nil }
        return path
    }

    /// Returns the path a `*at` call names: `name` itself when absolute, else `name` inside the directory of
    /// `directory` (`AT_FDCWD</srv>` or `7</srv/state>`).
    private static func resolve(_ directory: String?, _ name: String?) -> String? {
        guard let name = name.flatMap(unquoted) else { return nil }
        if name.hasPrefix("/") { return name }
        guard let base = directory.flatMap(descriptorPath) else { return nil }
        return ((base as NSString).appendingPathComponent(name) as NSString).standardizingPath
    }

    private static func unquoted(_ text: String) -> String? {
        guard text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") else { return nil }
        return String(text.dropFirst().dropLast())
    }

    /// Reads `1796505705.552339` (seconds with six decimals) as microseconds.
    static func microseconds(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].count == 6, let seconds = Int64(parts[0]), let fraction = Int64(parts[1]) else {
            return nil
        }
        return seconds * 1_000_000 + fraction
    }

    /// Returns the index of the `)` that closes the `(` at `open`, skipping quoted strings.
    private static func matchingParenthesis(_ characters: [Character], from open: Int) -> Int? {
        var depth = 0
        var index = open
        var quoted = false
        while index < characters.count {
            let character = characters[index]
            if quoted {
                if character == "\\" { index += 1 } else if character == "\"" { quoted = false }
            } else if character == "\"" {
                quoted = true
            } else if "([{".contains(character) {
                depth += 1
            } else if ")]}".contains(character) {
                depth -= 1
                if depth == 0 { return index }
            }
            index += 1
        }
        return nil
    }

    /// Splits the text between a call's parentheses at the commas that separate its arguments.
    private static func splitArguments(_ characters: ArraySlice<Character>) -> [String] {
        var arguments: [String] = []
        var current = ""
        var depth = 0
        var quoted = false
        var escaped = false
        for character in characters {
            if quoted {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" {
                    quoted = false
                }
            } else if character == "\"" {
                quoted = true
            } else if "([{<".contains(character) {
                depth += 1
            } else if ")]}>".contains(character) {
                depth -= 1
            } else if character == ",", depth == 0 {
                arguments.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
                continue
            }
            current.append(character)
        }
        if !current.isEmpty { arguments.append(current.trimmingCharacters(in: .whitespaces)) }
        return arguments
    }
}
