// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization

/// Severity of a log line, lowest first.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case trace, debug, info, notice, warning, error, critical

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .trace: "trace"
        case .debug: "debug"
        case .info: "info"
        case .notice: "notice"
        case .warning: "warning"
        case .error: "error"
        case .critical: "critical"
        }
    }

    /// Parses a level name as written in config files and on the command line.
    public init?(name: String) {
        guard let level = LogLevel.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = level
    }
}

/// Destination and minimum level shared by every `Logger` made from it; the level can change at run time.
public final class LogSink: Sendable {
    private let minimum: Atomic<Int>
    private let write: @Sendable (String) -> Void

    /// Creates a sink that writes one line per event to standard error.
    public static func standardError(level: LogLevel = .info) -> LogSink {
        LogSink(level: level) { line in
            StandardStream.error.write(line)
        }
    }

    /// Creates a sink that passes each finished line, newline included, to `write`.
    public init(level: LogLevel, write: @escaping @Sendable (String) -> Void) {
        self.minimum = Atomic(level.rawValue)
        self.write = write
    }

    /// The lowest level that is written.
    public var level: LogLevel {
        get { LogLevel(rawValue: minimum.load(ordering: .relaxed)) ?? .info }
        set { minimum.store(newValue.rawValue, ordering: .relaxed) }
    }

    func emit(_ line: String) { write(line) }
}

/// A component's logger: writes `time level component message key=value...` lines to its sink.
public struct Logger: Sendable {
    public let component: String
    public let sink: LogSink
    /// Key-value pairs added to every line this logger writes.
    public var metadata: [(String, String)]

    public init(component: String, sink: LogSink, metadata: [(String, String)] = []) {
        self.component = component
        self.sink = sink
        self.metadata = metadata
    }

    /// Returns a logger for a sub-component that shares this logger's sink and metadata.
    public func child(_ component: String, metadata extra: [(String, String)] = []) -> Logger {
        Logger(component: component, sink: sink, metadata: metadata + extra)
    }

    public func isEnabled(_ level: LogLevel) -> Bool { level >= sink.level }

    /// Writes one line if `level` is enabled; `message` is only evaluated then.
    ///
    /// Control characters in the message and in field values are written as escapes (`\n`, `\u{1B}`), so text
    /// from a request, such as a tensor name in a rejection, cannot start a forged line in the journal.
    public func log(_ level: LogLevel, _ message: @autoclosure () -> String, _ fields: [(String, String)] = []) {
        guard isEnabled(level) else { return }
        var line = "\(Logger.timestamp()) \(level) \(component): \(message().escapingControlCharacters)"
        for (key, value) in metadata + fields {
            line += " \(key)=\(Logger.quoteIfNeeded(value))"
        }
        line += "\n"
        sink.emit(line)
    }

    public func trace(_ message: @autoclosure () -> String, _ fields: [(String, String)] = []) {
        log(.trace, message(), fields)
    }
    public func debug(_ message: @autoclosure () -> String, _ fields: [(String, String)] = []) {
        log(.debug, message(), fields)
    }
    public func info(_ message: @autoclosure () -> String, _ fields: [(String, String)] = []) {
        log(.info, message(), fields)
    }
    public func notice(_ message: @autoclosure () -> String, _ fields: [(String, String)] = []) {
        log(.notice, message(), fields)
    }
    public func warning(_ message: @autoclosure () -> String, _ fields: [(String, String)] = []) {
        log(.warning, message(), fields)
    }
    public func error(_ message: @autoclosure () -> String, _ fields: [(String, String)] = []) {
        log(.error, message(), fields)
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = now.tv_nsec / 1_000_000
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, millis
        )
    }

    /// Quotes a field value that is empty or contains a space, quote, equals sign, backslash or control
    /// character. Inside the quotes, quotes, backslashes and control characters are escaped.
    static func quoteIfNeeded(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains { scalar in
            scalar == " " || scalar == "\"" || scalar == "=" || scalar == "\\" || String.isControl(scalar)
        }
        guard needsQuotes else { return value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"" + escaped.escapingControlCharacters + "\""
    }
}
