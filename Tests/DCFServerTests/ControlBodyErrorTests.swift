// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import Foundation
import Testing

/// The messages of `malformed_json` errors for JSON bodies that parse but do not fit the message type.
@Suite struct ControlBodyErrorTests {
    private func nonceError(_ body: String) throws -> DCFErrorResponse {
        let harness = try ServerHarness()
        let request = ServerRequest(
            method: "POST", target: DCFRoute.noncePath, headers: [(DCFHeader.protocolVersion, "1")],
            body: try .memory(Data(body.utf8)))
        let response = try #require(harness.send(request))
        #expect(response.status == 400)
        return try response.decode(DCFErrorResponse.self)
    }

    /// Foundation's decoder calls a fraction in an integer field "not valid JSON", which the body is; the message
    /// names the field and its value instead.
    @Test(arguments: ["1.5", "99999999999999999999", "1e300"])
    func numberOutOfIntegerRangeNamesField(_ timestamp: String) throws {
        let id = String(repeating: "ab", count: 32)
        let error = try nonceError(#"{"worker_id":"\#(id)","timestamp":\#(timestamp)}"#)
        #expect(error.code == .malformedJSON)
        #expect(error.message.contains("timestamp is "), "\(error.message)")
        #expect(error.message.contains("not an integer"), "\(error.message)")
        #expect(!error.message.contains("not valid JSON"), "\(error.message)")
    }

    @Test func syntaxErrorStillSaysInvalidJSON() throws {
        let error = try nonceError(#"{"worker_id":"#)
        #expect(error.code == .malformedJSON)
        #expect(error.message.contains("not valid JSON"), "\(error.message)")
    }

    @Test func missingKeyWinsOverUnrelatedFraction() throws {
        let error = try nonceError(#"{"registered":1.5}"#)
        #expect(error.message.contains("missing key \"worker_id\""), "\(error.message)")
    }
}
