// SPDX-License-Identifier: Apache-2.0

/// The parts of a worker request that its Ed25519 signature covers, and the canonical string built from them.
///
/// The worker signs `canonicalString` and the server rebuilds it from the received request, so both sides
/// must build it here. The body digest is the SHA-256 of the body bytes as sent, before any decompression,
/// so the server checks the signature before it inflates or parses anything.
public struct SignedRequestContent: Sendable, Hashable {
    /// Separates dcf request signatures from any other message signed with the same key.
    public static let domainTag = "dcf-request-signature"

    public let protocolVersion: Int
    /// The HTTP method, uppercase.
    public let method: String
    /// The request target as sent: path plus query string, such as `/dcf/model/wait?version=3`.
    public let target: String
    public let workerID: WorkerID
    public let nonce: String
    /// The `DCF-Base-Version` header value on updates; empty on every other request.
    public let baseVersion: String
    /// Lowercase hex SHA-256 of the raw body; the digest of zero bytes when there is no body.
    public let bodySHA256: String

    /// Creates the content; throws when a field contains a line break or the digest is not 64 hex digits,
    /// because either would make two different requests share one canonical string.
    public init(
        protocolVersion: Int, method: String, target: String, workerID: WorkerID, nonce: String,
        baseVersion: String, bodySHA256: String
    ) throws(DCFErrorResponse) {
        for (name, value) in [("method", method), ("target", target), ("nonce", nonce), ("base version", baseVersion)]
        where value.contains(where: \.isNewline) {
            throw DCFErrorResponse(.badRequest, "the request \(name) contains a line break")
        }
        guard bodySHA256.count == 64, bodySHA256.allSatisfy(WorkerID.isASCIIHexDigit) else {
            throw DCFErrorResponse(.badRequest, "body digest \"\(bodySHA256)\" is not 64 hex digits")
        }
        self.protocolVersion = protocolVersion
        self.method = method.uppercased()
        self.target = target
        self.workerID = workerID
        self.nonce = nonce
        self.baseVersion = baseVersion
        self.bodySHA256 = bodySHA256.lowercased()
    }

    /// The string that is signed: the domain tag and each field on its own line, in a fixed order.
    public var canonicalString: String {
        [
            Self.domainTag, String(protocolVersion), method, target, workerID.rawValue, nonce, baseVersion,
            bodySHA256,
        ].joined(separator: "\n")
    }

    /// The UTF-8 bytes of `canonicalString`, as passed to the signer and the verifier.
    public var canonicalBytes: [UInt8] { Array(canonicalString.utf8) }
}
