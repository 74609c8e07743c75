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
        // Uninitialized storage: `Data(count:)` would first zero every byte that the read then overwrites.
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 16)
        do {
            try readFixed(into: storage)
        } catch {
            storage.deallocate()
            throw error
        }
        return Data(bytesNoCopy: storage.baseAddress!, count: length, deallocator: .custom { pointer, _ in
            pointer.deallocate()
        })
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
