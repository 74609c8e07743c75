// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
@testable import DCFWorker
import Testing

/// Tests of the resend decision: the worker sends a failed upload again only when the failure proves the
/// strategy never saw it.
@Suite struct UpdateResendTests {
    private static func reply(_ code: DCFErrorCode, status: Int) -> DCFWorkerError {
        .server(DCFErrorResponse(code, "test reply"), status: status, operation: "send update")
    }

    @Test func resendsWhenServerNeverHandedItOn() {
        #expect(DCFWorker.updateMayBeSentAgain(.unreachable("connection refused", operation: "send update")))
        #expect(DCFWorker.updateMayBeSentAgain(Self.reply(.unavailable, status: 503)))
        #expect(DCFWorker.updateMayBeSentAgain(Self.reply(.badRequest, status: 408)))
        #expect(DCFWorker.updateMayBeSentAgain(Self.reply(.nonceExpired, status: 401)))
    }

    @Test func keepsWhatTheServerMayHaveCounted() {
        #expect(!DCFWorker.updateMayBeSentAgain(.updateOutcomeUnknown(baseVersion: ModelVersion(2))))
        #expect(!DCFWorker.updateMayBeSentAgain(Self.reply(.updateRejected, status: 422)))
        #expect(!DCFWorker.updateMayBeSentAgain(Self.reply(.replayedRequest, status: 401)))
        #expect(!DCFWorker.updateMayBeSentAgain(Self.reply(.badSignature, status: 401)))
        #expect(!DCFWorker.updateMayBeSentAgain(Self.reply(.badRequest, status: 400)))
    }
}
