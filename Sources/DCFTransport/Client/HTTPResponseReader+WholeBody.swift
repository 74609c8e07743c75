// SPDX-License-Identifier: Apache-2.0
import Foundation

extension HTTPResponseReader {
    /// Reads the whole body into one `Data` and returns it.
    ///
    /// A `Content-Length` body is read into storage of its size, and each byte is copied once. The bytes
    /// buffered behind the head are copied from the connection's buffer, and the rest goes straight from the
    /// socket or the TLS record layer into the storage. Chunked and until-close bodies go through the buffer.
    /// - Throws: `responseTooLarge` when the body exceeds `limit` bytes (before reading it when the length is
    ///   announced), and `HTTPClientError` for closed connections, timeouts, TLS and socket failures.
    func readWholeBody(_ framing: Framing, limit: Int) throws -> Data {
        let tooLarge = HTTPClientError.responseTooLarge(connection.server, limit: limit)
        guard case .contentLength(let length) = framing else {
            var body = Data()
            try readBody(framing) { piece in
                guard body.count + piece.count <= limit else { throw tooLarge }
                body.append(contentsOf: piece)
            }
            return body
        }
        guard length <= limit else { throw tooLarge }
        guard length > 0 else { return Data() }
        // Uninitialized storage: `Data(count:)` would first zero every byte that the read then overwrites. `malloc`
        // rather than `allocate`, which ends the process when a server announces more than the memory can hold.
        guard let base = malloc(length) else {
            throw HTTPClientError.io(connection.server, "allocate \(length) bytes for the response body", errno: ENOMEM)
        }
        let storage = UnsafeMutableRawBufferPointer(start: base, count: length)
        do {
            try readFixed(into: storage)
        } catch {
            free(base)
            throw error
        }
        return Data(bytesNoCopy: base, count: length, deallocator: .free)
    }

    /// Fills `destination` with the next `destination.count` body bytes.
    private func readFixed(into destination: UnsafeMutableRawBufferPointer) throws {
        let buffered = UnsafeRawBufferPointer(rebasing: connection.buffered.prefix(destination.count))
        destination.copyMemory(from: buffered)
        var filled = buffered.count
        connection.consume(filled)
        while filled < destination.count {
            let count = try connection.receive(into: UnsafeMutableRawBufferPointer(rebasing: destination[filled...]))
            guard count > 0 else { throw closedMidBody(received: filled, of: destination.count) }
            filled += count
        }
    }
}
