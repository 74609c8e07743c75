// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import Foundation

/// The worker registry's table in the state directory's SQLite database.
/// Not thread-safe: `WorkerRegistry` serializes every call.
final class WorkerStore {
    static let fileName = "registry.sqlite"

    /// Returns whether the database in `directory` is missing or empty, so opening it creates a new, empty
    /// registry. Every database this type opened is longer than zero bytes, because switching it to WAL mode
    /// writes its header.
    static func isMissing(in directory: URL) -> Bool {
        let path = directory.appendingPathComponent(fileName).path
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int else {
            return !FileManager.default.fileExists(atPath: path)
        }
        return size == 0
    }

    private let database: SQLiteDatabase
    private let upsertStatement: SQLiteStatement
    private let deleteStatement: SQLiteStatement

    /// Opens or creates the database in `directory`, creating the directory when missing with its parent flushed,
    /// so a committed registration survives a power loss.
    init(directory: URL) throws {
        try AtomicFile.createDirectory(directory.path)
        database = try SQLiteDatabase(path: directory.appendingPathComponent(Self.fileName).path)
        try database.execute(
            """
            CREATE TABLE IF NOT EXISTS workers (
                worker_id TEXT PRIMARY KEY NOT NULL,
                public_key TEXT NOT NULL,
                status TEXT NOT NULL,
                source TEXT NOT NULL
            )
            """)
        upsertStatement = try database.prepare(
            """
            INSERT INTO workers (worker_id, public_key, status, source) VALUES (?, ?, ?, ?)
            ON CONFLICT(worker_id) DO UPDATE SET
                public_key = excluded.public_key, status = excluded.status, source = excluded.source
            """)
        deleteStatement = try database.prepare("DELETE FROM workers WHERE worker_id = ?")
    }

    /// Reads every stored worker; a row this build cannot read is an error naming the row.
    func loadAll() throws -> [WorkerRecord] {
        let query = try database.prepare("SELECT worker_id, public_key, status, source FROM workers")
        try query.bind([])
        var records: [WorkerRecord] = []
        while try query.step() {
            let idText = query.text(at: 0)
            guard let id = WorkerID(idText), let status = WorkerStatus(rawValue: query.text(at: 2)),
                let source = WorkerSource(rawValue: query.text(at: 3))
            else {
                throw SQLiteError(
                    operation: "read worker \(idText)", code: 0,
                    message: "invalid row in \(database.path); restore the file from a backup or delete the row")
            }
            records.append(WorkerRecord(id: id, publicKey: query.text(at: 1), status: status, source: source))
        }
        return records
    }

    /// Writes the upserts and deletions in one transaction, so a crash keeps all of them or none.
    func apply(upserts: [WorkerRecord], deletions: [WorkerID] = []) throws {
        try database.transaction {
            for record in upserts {
                try upsertStatement.run([
                    .text(record.id.rawValue), .text(record.publicKey), .text(record.status.rawValue),
                    .text(record.source.rawValue),
                ])
            }
            for id in deletions {
                try deleteStatement.run([.text(id.rawValue)])
            }
        }
    }
}
