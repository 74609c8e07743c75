// SPDX-License-Identifier: Apache-2.0
import CSQLite

/// A compiled SQLite statement; parameters are bound by 1-based index.
final class SQLiteStatement {
    private let statement: OpaquePointer
    // Kept so the connection outlives every statement compiled on it.
    private let database: SQLiteDatabase

    init(statement: OpaquePointer, database: SQLiteDatabase) {
        self.statement = statement
        self.database = database
    }

    deinit {
        sqlite3_finalize(statement)
    }

    func bind(_ values: [SQLiteValue]) throws {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .integer(let number): status = sqlite3_bind_int64(statement, index, number)
            case .text(let text): status = sqlite3_bind_text(statement, index, text, -1, CSQLite_transient())
            case .null: status = sqlite3_bind_null(statement, index)
            }
            guard status == SQLITE_OK else {
                throw SQLiteError(
                    operation: "bind parameter \(index)", code: status, message: database.lastErrorMessage,
                    path: database.path)
            }
        }
    }

    /// Advances to the next row; returns false when the statement is done.
    func step() throws -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let status:
            throw SQLiteError(operation: "step", code: status, message: database.lastErrorMessage, path: database.path)
        }
    }

    /// Binds `values` and runs the statement to completion, discarding rows.
    func run(_ values: [SQLiteValue] = []) throws {
        try bind(values)
        while try step() {}
    }

    func integer(at column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    func text(at column: Int32) -> String {
        guard let pointer = sqlite3_column_text(statement, column) else { return "" }
        return String(cString: pointer)
    }
}

/// A value bound to a statement parameter.
enum SQLiteValue {
    case integer(Int64)
    case text(String)
    case null
}
