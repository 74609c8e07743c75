// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Testing

@Suite struct MessageCodingTests {
    private func roundTrip<Message: Codable & Equatable>(_ message: Message) throws -> Message {
        try JSONDecoder().decode(Message.self, from: try JSONEncoder().encode(message))
    }

    private func json(_ message: some Encodable) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(message)) as? [String: Any])
    }

    let worker = WorkerID("0123456789abcdef")!

    @Test func everyMessageRoundTrips() throws {
        #expect(try roundTrip(ProtocolInfo(range: .supported, server: "dcf-serverd 0.1")).server == "dcf-serverd 0.1")
        #expect(try roundTrip(NonceRequest(workerID: worker)) == NonceRequest(workerID: worker))
        #expect(try roundTrip(NonceResponse(nonce: "ab", expiresIn: 120)) == NonceResponse(nonce: "ab", expiresIn: 120))
        #expect(try roundTrip(RegisterRequest(publicKey: "cd")) == RegisterRequest(publicKey: "cd"))
        #expect(try roundTrip(RegisterResponse(workerID: worker, registered: true)).registered)
        #expect(try roundTrip(ModelWaitResponse(changed: false, version: nil)) == ModelWaitResponse(changed: false, version: nil))
        #expect(try roundTrip(UpdateResponse(accepted: true, message: "ok")).message == "ok")
        #expect(try roundTrip(AdminAddWorkerRequest(publicKey: "ef", registered: false)).publicKey == "ef")
        #expect(try roundTrip(AdminSetRegistrationRequest(registered: true)).registered)
        #expect(try roundTrip(AdminWorkerResult(workerID: worker, registered: true)).success)
        let entry = AdminWorkerEntry(workerID: worker, publicKey: "ab", registered: false, status: "allowed", source: "admin")
        #expect(try roundTrip(entry) == entry)
        let status = AdminStatusResponse(
            modelVersion: 3, registeredWorkers: 1, knownWorkers: 2, waitingWorkers: 0, admissionMode: "safe",
            round: ["updates": 1, "waiting_for_min_updates": false, "note": "text", "share": .number(0.5)])
        #expect(try roundTrip(status) == status)
        #expect(try roundTrip(DCFErrorResponse(.badSignature, "no")) == DCFErrorResponse(.badSignature, "no"))
    }

    /// `warnings` is optional both ways: replies without it (older servers, or nothing to warn about) decode, and
    /// a reply without warnings leaves the key out, so it looks as it did before the field.
    @Test func adminWarningsAreOptional() throws {
        let older = Data(#"{"worker_id": "\#(worker.rawValue)", "registered": false, "success": true}"#.utf8)
        #expect(try JSONDecoder().decode(AdminWorkerResult.self, from: older).warnings == nil)
        #expect(try json(AdminWorkerResult(workerID: worker, registered: false))["warnings"] == nil)
        let warned = AdminWorkerResult(workerID: worker, registered: false, warnings: ["no round can close"])
        #expect(try roundTrip(warned).warnings == ["no round can close"])

        let olderStatus = Data(
            #"{"registered_workers": 1, "known_workers": 2, "waiting_workers": 0, "admission_mode": "safe", "round": {}}"#
                .utf8)
        #expect(try JSONDecoder().decode(AdminStatusResponse.self, from: olderStatus).warnings == nil)
        let status = AdminStatusResponse(
            modelVersion: 3, registeredWorkers: 1, knownWorkers: 2, waitingWorkers: 0, admissionMode: "safe",
            round: [:], warnings: ["no round can close"])
        #expect(try roundTrip(status) == status)
        #expect(try json(status)["warnings"] as? [String] == ["no round can close"])
    }

    @Test func roundStatusValuesAreJSONScalars() throws {
        let status = AdminStatusResponse(
            modelVersion: nil, registeredWorkers: 0, knownWorkers: 0, waitingWorkers: 0, admissionMode: "unsafe",
            round: ["updates": 12, "waiting_for_min_updates": true, "note": "7", "share": .number(0.25)])
        let round = try #require(try json(status)["round"] as? [String: Any])
        #expect(round["updates"] as? Int == 12)
        #expect(round["waiting_for_min_updates"] as? Bool == true)
        #expect(round["note"] as? String == "7")
        #expect(round["share"] as? Double == 0.25)
        let text = String(decoding: try JSONEncoder().encode(status.round), as: UTF8.self)
        #expect(text.contains(#""waiting_for_min_updates":true"#))
        #expect(text.contains(#""updates":12"#))
        let decoded = try JSONDecoder().decode(
            [String: StatusValue].self, from: Data(#"{"a": 3, "b": false, "c": "x", "d": 1.5}"#.utf8))
        #expect(decoded == ["a": 3, "b": false, "c": "x", "d": .number(1.5)])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([String: StatusValue].self, from: Data(#"{"a": [1]}"#.utf8))
        }
    }

    @Test func wireKeysMatchProtocol() throws {
        #expect(try json(NonceRequest(workerID: worker))["worker_id"] as? String == worker.rawValue)
        #expect(try json(NonceResponse(nonce: "n", expiresIn: 5))["expires_in"] as? Int == 5)
        #expect(try json(AdminAddWorkerRequest(publicKey: "k", registered: true))["public_key_str"] as? String == "k")
        let error = try json(DCFErrorResponse(.replayedRequest, "again"))["error"] as? [String: String]
        #expect(error == ["code": "replayed_request", "message": "again"])
        let refused = DCFErrorResponse(.updateRejected, "NaN", reason: "non_finite_value")
        #expect(try json(refused)["error"] as? [String: String]
            == ["code": "update_rejected", "message": "NaN", "reason": "non_finite_value"])
        #expect(try roundTrip(refused).error.reason == "non_finite_value")
        #expect(try json(ModelWaitResponse(changed: true, version: 7))["version"] as? Int == 7)
    }

    @Test func invalidWorkerIDIsRejected() {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(NonceRequest.self, from: Data("{\"worker_id\":\"xyz\"}".utf8))
        }
    }

    @Test func everyErrorCodeHasClientOrServerStatus() {
        for code in DCFErrorCode.allCases {
            #expect((400...599).contains(code.httpStatus), "\(code) has status \(code.httpStatus)")
        }
        #expect(DCFErrorCode.protocolMismatch.httpStatus == 426)
        #expect(DCFErrorResponse(.unknownKey, "").httpStatus == 401)
    }
}
