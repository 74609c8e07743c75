// SPDX-License-Identifier: Apache-2.0
import CSQLite
import Foundation

/// An error from SQLite, carrying the failed operation, the database file and SQLite's own message.
struct SQLiteError: Error, CustomStringConvertible {
    let operation: String
    let code: Int32
    let message: String
    /// The database file, so an operator knows which file to check.
    var path: String? = nil

    var description: String {
        var text = "SQLite \(operation) failed (code \(code)): \(message)"
        if let path { text += " (database \(path))" }
        if code == SQLITE_NOTADB || code == SQLITE_CORRUPT {
            text += "; the file is damaged: restore it from a backup, or move it away to start with an empty registry"
        }
        return text
    }
}

/// One open SQLite connection. Not thread-safe: its owner serializes every call.
final class SQLiteDatabase {
    private let handle: OpaquePointer
    let path: String

    /// Opens or creates the database file and turns on write-ahead logging with full sync,
    /// so a committed change survives a crash.
    init(path: String) throws {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            throw SQLiteError(operation: "open \(path)", code: status, message: message)
        }
        self.handle = handle
        self.path = path
        try execute("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=FULL")
        sqlite3_busy_timeout(handle, 5_000)
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that take no parameters and return no rows.
    func execute(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        guard status == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(errorMessage)
            throw SQLiteError(operation: "execute \(sql.prefix(60))", code: status, message: message, path: path)
        }
    }

    /// Compiles one statement.
    func prepare(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard status == SQLITE_OK, let statement else {
            throw SQLiteError(
                operation: "prepare \(sql.prefix(60))", code: status, message: lastErrorMessage, path: path)
        }
        return SQLiteStatement(statement: statement, database: self)
    }

    /// Runs `body` inside a transaction: commits when it returns, rolls back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    var lastErrorMessage: String { String(cString: sqlite3_errmsg(handle)) }
}
