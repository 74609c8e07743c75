// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFProtocol
public import Foundation

/// A request as the HTTP transport hands it to `DCFServer.handle(_:respond:)`.
public struct ServerRequest: Sendable {
    /// The HTTP method, any case.
    public var method: String
    /// The request target as received: path plus query string.
    public var target: String
    /// Header fields in arrival order; lookups ignore case.
    public var headers: [(name: String, value: String)]
    public var body: RequestBody
    /// Identifies the connection, so `DCFServer.connectionClosed(_:)` can drop a parked long poll.
    public var connectionID: UInt64
    /// The client's IP address, which keys the throttle of failed admin logins; nil when not known.
    public var peerAddress: String?
    /// The worker and declared body digest whose signature the server verified from this request's head before
    /// reading the body, so authentication need not verify it again when the body has that digest.
    var verifiedHead: (worker: WorkerID, bodySHA256: String)?

    public init(
        method: String, target: String, headers: [(name: String, value: String)] = [], body: RequestBody = .empty,
        connectionID: UInt64 = 0, peerAddress: String? = nil
    ) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.connectionID = connectionID
        self.peerAddress = peerAddress
    }

    /// Returns the first value of the header `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// A request body and the SHA-256 of its bytes as received, before any decompression.
public struct RequestBody: Sendable {
    enum Storage: Sendable {
        case memory(Data)
        case file(URL)
    }

    let storage: Storage
    public let byteCount: Int
    /// Lowercase hex SHA-256 of the body, which the request signature covers.
    public let sha256: String
    /// For a spooled uncompressed safetensors body: the floating-point tensors holding NaN or infinity, found
    /// while the body arrived. Nil when the body was not scanned or its header could not be read.
    public var nonFiniteTensors: [String]? = nil

    /// No body; its digest is the SHA-256 of zero bytes.
    public static let empty = RequestBody(storage: .memory(Data()), byteCount: 0, sha256: emptySHA256)

    static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// A body held in memory; computes its digest.
    public static func memory(_ data: Data) throws -> RequestBody {
        RequestBody(storage: .memory(data), byteCount: data.count, sha256: try SHA256.hash(data).hexString)
    }

    /// A body the transport streamed to `file`, with the digest it computed while streaming.
    /// The server reads the file only after the signature over `sha256` checks out.
    public static func spooled(
        file: URL, byteCount: Int, sha256: String, nonFiniteTensors: [String]? = nil
    ) -> RequestBody {
        RequestBody(
            storage: .file(file), byteCount: byteCount, sha256: sha256.lowercased(), nonFiniteTensors: nonFiniteTensors)
    }

    /// Reads the whole body.
    public func data() throws -> Data {
        switch storage {
        case .memory(let data): data
        case .file(let url): try Data(contentsOf: url)
        }
    }
}
