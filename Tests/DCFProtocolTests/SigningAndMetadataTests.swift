// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Testing

@Suite struct SignedRequestContentTests {
    let digest = String(repeating: "ab", count: 32)
    let worker = WorkerID("00112233aabbccdd")!

    @Test func canonicalStringOrdersEveryField() throws {
        let content = try SignedRequestContent(
            protocolVersion: 1, method: "post", target: "/dcf/update", workerID: worker, nonce: "n1",
            baseVersion: "7", bodySHA256: digest.uppercased())
        let expected = ["dcf-request-signature", "1", "POST", "/dcf/update", worker.rawValue, "n1", "7", digest]
        #expect(content.canonicalString == expected.joined(separator: "\n"))
        #expect(content.canonicalBytes == Array(content.canonicalString.utf8))
    }

    @Test(arguments: ["/dcf/model\n", "n\r1"])
    func lineBreakIsRejected(value: String) {
        #expect(throws: DCFErrorResponse.self) {
            try SignedRequestContent(
                protocolVersion: 1, method: "GET", target: value, workerID: worker, nonce: value, baseVersion: "",
                bodySHA256: digest)
        }
    }

    @Test func shortDigestIsRejected() {
        #expect(throws: DCFErrorResponse.self) {
            try SignedRequestContent(
                protocolVersion: 1, method: "GET", target: "/", workerID: worker, nonce: "n", baseVersion: "",
                bodySHA256: "abc")
        }
    }
}

@Suite struct UpdateMetadataTests {
    @Test func roundTripsThroughSafetensorsMetadata() throws {
        let metadata = UpdateMetadata(numExamples: 600, baseVersion: 4, metrics: ["loss": 0.25, "accuracy": 0.9])
        var map = metadata.safetensorsMetadata
        #expect(map[UpdateMetadata.metricsKey] == "{\"accuracy\":0.9,\"loss\":0.25}")
        map["format"] = "pt"
        #expect(try UpdateMetadata(safetensorsMetadata: map) == metadata)
    }

    @Test(arguments: [
        ([:], "dcf.num_examples"), (["dcf.num_examples": "-1", "dcf.base_version": "1"], "-1"),
        (["dcf.num_examples": "3"], "dcf.base_version"), (["dcf.num_examples": "3", "dcf.base_version": "v1"], "v1"),
        (["dcf.num_examples": "3", "dcf.base_version": "1", "dcf.metrics": "[1]"], "[1]"),
    ])
    func invalidMetadataNamesKeyOrValue(map: [String: String], named: String) {
        #expect {
            _ = try UpdateMetadata(safetensorsMetadata: map)
        } throws: { error in
            (error as? DCFErrorResponse)?.message.contains(named) == true
        }
    }
}
