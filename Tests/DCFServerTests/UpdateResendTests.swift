// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFTransport
@testable import DCFWorker
import Foundation
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
        #expect(DCFWorker.updateMayBeSentAgain(Self.reply(.requestTimeout, status: 408)))
        #expect(DCFWorker.updateMayBeSentAgain(Self.reply(.nonceExpired, status: 401)))
    }

    @Test func keepsWhatTheServerMayHaveCounted() {
        #expect(!DCFWorker.updateMayBeSentAgain(.updateOutcomeUnknown(baseVersion: ModelVersion(2))))
        #expect(!DCFWorker.updateMayBeSentAgain(Self.reply(.updateRejected, status: 422)))
        #expect(!DCFWorker.updateMayBeSentAgain(Self.reply(.replayedRequest, status: 401)))
        #expect(!DCFWorker.updateMayBeSentAgain(Self.reply(.badSignature, status: 401)))
        #expect(!DCFWorker.updateMayBeSentAgain(Self.reply(.badRequest, status: 400)))
        #expect(!DCFWorker.updateMayBeSentAgain(Self.reply(.headerTooLarge, status: 431)))
    }

    /// A timeout, a 503, a replay or an expired nonce in reply to resent bytes leads to a newly signed copy. Other
    /// replies end the resends.
    @Test func resentReplyDecision() {
        #expect(DCFWorker.resentReplyNeedsNewSignature(.requestTimeout))
        #expect(DCFWorker.resentReplyNeedsNewSignature(.unavailable))
        #expect(DCFWorker.resentReplyNeedsNewSignature(.replayedRequest))
        #expect(DCFWorker.resentReplyNeedsNewSignature(.nonceExpired))
        #expect(!DCFWorker.resentReplyNeedsNewSignature(.badSignature))
        #expect(!DCFWorker.resentReplyNeedsNewSignature(.badRequest))
        #expect(!DCFWorker.resentReplyNeedsNewSignature(nil))
    }

    /// A 408 from a proxy, whose body is no dcf error, is retried like the server's own.
    @Test func proxyTimeoutPageIsRequestTimeout() {
        let page = HTTPClientResponse(statusCode: 408, reason: "Request Timeout", headers: [:], body: Data("<html>".utf8))
        #expect(page.dcfError.code == .requestTimeout)
    }
}
