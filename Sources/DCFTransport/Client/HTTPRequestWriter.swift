// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Sends one request, head and body, on a connection.
struct HTTPRequestWriter {
    let connection: HTTPClientConnection
    let hostHeader: String
    let userAgent: String?
    /// Bodies up to this size go out in the same write as the head.
    private static let coalesceLimit = 16 << 10
    /// Size of each read from a body file.
    private static let fileChunkSize = 256 << 10

    private var server: String { connection.server }

    /// Sends `request`; `Content-Length` or chunked framing follows from its body.
    ///
    /// - Parameter awaitContinue: for a request with `Expect: 100-continue`, called after the head of a body that
    ///   is not empty. It waits for the server and returns whether to send the body. When it returns false, only
    ///   the head has been sent. With `nil`, the head and body go out without waiting.
    func send(_ request: HTTPClientRequest, awaitContinue: (() throws -> Bool)? = nil) throws {
        try validate(request)
        switch request.body {
        case .none:
            let needsLength = ["POST", "PUT", "PATCH"].contains(request.method)
            try connection.write(head(request, framing: needsLength ? "Content-Length: 0" : nil))
        case .data(let data):
            var message = head(request, framing: "Content-Length: \(data.count)")
            if let awaitContinue, !data.isEmpty {
                try connection.write(message)
                guard try awaitContinue() else { return }
                try connection.write(data)
            } else if data.count <= Self.coalesceLimit {
                message.append(data)
                try connection.write(message)
            } else {
                try connection.write(message)
                try connection.write(data)
            }
        case .file(let path):
            try sendFile(request, path: path, awaitContinue: awaitContinue)
        case .stream(let length, let nextChunk):
            try sendStream(request, length: length, nextChunk: nextChunk, awaitContinue: awaitContinue)
        }
    }

    /// Writes `head` and, for a body that is not empty, calls `awaitContinue`. Returns false, so the body stays
    /// unsent, only when `awaitContinue` does.
    private func writeHead(_ head: Data, bodyIsEmpty: Bool, awaitContinue: (() throws -> Bool)?) throws -> Bool {
        try connection.write(head)
        guard let awaitContinue, !bodyIsEmpty else { return true }
        return try awaitContinue()
    }

    private func validate(_ request: HTTPClientRequest) throws {
        guard request.path.hasPrefix("/"), !request.path.contains(where: { $0 == " " || $0.isNewline }) else {
            throw HTTPClientError.invalidRequest(server, "path '\(request.path)' must start with '/' and contain "
                + "no spaces or line breaks; percent-encode them")
        }
        guard !request.method.isEmpty, request.method.allSatisfy({ $0.isLetter && $0.isASCII }) else {
            throw HTTPClientError.invalidRequest(server, "invalid method '\(request.method)'")
        }
        for field in request.headers where field.name.contains(where: { $0 == ":" || $0.isWhitespace })
            || field.value.contains(where: \.isNewline)
        {
            throw HTTPClientError.invalidRequest(server, "invalid header field '\(field.name)'")
        }
    }

    private func head(_ request: HTTPClientRequest, framing: String?) -> Data {
        var text = "\(request.method) \(request.path) HTTP/1.1\r\n"
        if !request.headers.contains("Host") { text += "Host: \(hostHeader)\r\n" }
        if let userAgent, !request.headers.contains("User-Agent") { text += "User-Agent: \(userAgent)\r\n" }
        for field in request.headers
        where !field.name.caseInsensitiveEquals("Content-Length") && !field.name.caseInsensitiveEquals("Transfer-Encoding") {
            text += "\(field.name): \(field.value)\r\n"
        }
        if let framing { text += framing + "\r\n" }
        text += "\r\n"
        return Data(text.utf8)
    }

    private func sendFile(_ request: HTTPClientRequest, path: String, awaitContinue: (() throws -> Bool)?) throws {
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw HTTPClientError.bodySource(server, "cannot open file '\(path)'; check that it exists and is readable")
        }
        defer { try? file.close() }
        let size: Int
        do {
            size = Int(try file.seekToEnd())
            try file.seek(toOffset: 0)
        } catch {
            throw HTTPClientError.bodySource(server, "cannot read the size of '\(path)': \(error)")
        }
        let message = head(request, framing: "Content-Length: \(size)")
        guard try writeHead(message, bodyIsEmpty: size == 0, awaitContinue: awaitContinue) else { return }
        var sent = 0
        while sent < size {
            let chunk = try readChunk(file, path: path, count: min(Self.fileChunkSize, size - sent))
            guard !chunk.isEmpty else {
                throw HTTPClientError.bodySource(server, "file '\(path)' shrank to \(sent) of \(size) bytes while sending")
            }
            try connection.write(chunk)
            sent += chunk.count
        }
    }

    private func readChunk(_ file: FileHandle, path: String, count: Int) throws -> Data {
        do {
            return try file.read(upToCount: count) ?? Data()
        } catch {
            throw HTTPClientError.bodySource(server, "cannot read '\(path)': \(error)")
        }
    }

    private func sendStream(
        _ request: HTTPClientRequest, length: Int?, nextChunk: @Sendable () throws -> Data?,
        awaitContinue: (() throws -> Bool)?
    ) throws {
        if let length {
            let message = head(request, framing: "Content-Length: \(length)")
            guard try writeHead(message, bodyIsEmpty: length == 0, awaitContinue: awaitContinue) else { return }
            var sent = 0
            while let chunk = try providedChunk(nextChunk) {
                guard sent + chunk.count <= length else {
                    throw HTTPClientError.bodySource(server, "stream produced more than the declared \(length) bytes")
                }
                try connection.write(chunk)
                sent += chunk.count
            }
            guard sent == length else {
                throw HTTPClientError.bodySource(server, "stream produced \(sent) of the declared \(length) bytes")
            }
            return
        }
        // A chunked stream may turn out empty, but its length is unknown when the head goes out.
        let message = head(request, framing: "Transfer-Encoding: chunked")
        guard try writeHead(message, bodyIsEmpty: false, awaitContinue: awaitContinue) else { return }
        while let chunk = try providedChunk(nextChunk) {
            guard !chunk.isEmpty else { continue }
            var frame = Data(String(chunk.count, radix: 16).utf8)
            frame.append(contentsOf: [13, 10])
            frame.append(chunk)
            frame.append(contentsOf: [13, 10])
            try connection.write(frame)
        }
        try connection.write(Data("0\r\n\r\n".utf8))
    }

    private func providedChunk(_ nextChunk: @Sendable () throws -> Data?) throws -> Data? {
        do {
            return try nextChunk()
        } catch {
            throw HTTPClientError.bodySource(server, "chunk provider failed: \(error)")
        }
    }
}
