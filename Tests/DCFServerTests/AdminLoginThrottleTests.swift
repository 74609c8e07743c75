// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFTransport
import Foundation
import Testing
@testable import DCFServer

@Suite struct AdminLoginThrottleTests {
    let start = ContinuousClock.now

    @Test func blocksAfterMaximumFailures() {
        let throttle = AdminLoginThrottle(maximumFailures: 3, window: .seconds(60))
        #expect(throttle.recordFailure("192.0.2.1", now: start) == false)
        #expect(throttle.recordFailure("192.0.2.1", now: start + .seconds(1)) == false)
        #expect(throttle.blockedFor("192.0.2.1", now: start + .seconds(2)) == nil)
        #expect(throttle.recordFailure("192.0.2.1", now: start + .seconds(2)) == true)
        #expect(throttle.blockedFor("192.0.2.1", now: start + .seconds(10)) == .seconds(50))
        #expect(throttle.blockedFor("192.0.2.2", now: start + .seconds(10)) == nil)
    }

    @Test func blockEndsAfterWindow() {
        let throttle = AdminLoginThrottle(maximumFailures: 2, window: .seconds(60))
        throttle.recordFailure("192.0.2.1", now: start)
        throttle.recordFailure("192.0.2.1", now: start)
        #expect(throttle.blockedFor("192.0.2.1", now: start + .seconds(59)) != nil)
        #expect(throttle.blockedFor("192.0.2.1", now: start + .seconds(60)) == nil)
        // The next failure starts a new count.
        #expect(throttle.recordFailure("192.0.2.1", now: start + .seconds(61)) == false)
        #expect(throttle.blockedFor("192.0.2.1", now: start + .seconds(61)) == nil)
    }

    @Test func failuresOutsideWindowStartNewCount() {
        let throttle = AdminLoginThrottle(maximumFailures: 2, window: .seconds(60))
        throttle.recordFailure("192.0.2.1", now: start)
        throttle.recordFailure("192.0.2.1", now: start + .seconds(61))
        #expect(throttle.blockedFor("192.0.2.1", now: start + .seconds(62)) == nil)
    }

    @Test func successClearsCount() {
        let throttle = AdminLoginThrottle(maximumFailures: 2, window: .seconds(60))
        throttle.recordFailure("192.0.2.1", now: start)
        throttle.recordSuccess("192.0.2.1")
        throttle.recordFailure("192.0.2.1", now: start)
        #expect(throttle.blockedFor("192.0.2.1", now: start) == nil)
    }

    @Test func fullTableDropsOldestEntry() {
        let throttle = AdminLoginThrottle(maximumFailures: 2, window: .seconds(60), maximumAddresses: 3)
        for index in 0..<3 { throttle.recordFailure("192.0.2.\(index)", now: start + .seconds(index)) }
        throttle.recordFailure("192.0.2.0", now: start + .seconds(5))
        #expect(throttle.blockedFor("192.0.2.0", now: start + .seconds(5)) != nil)
        // A fourth address takes the place of the entry whose window started first.
        throttle.recordFailure("192.0.2.9", now: start + .seconds(6))
        #expect(throttle.trackedCount == 3)
        #expect(throttle.blockedFor("192.0.2.0", now: start + .seconds(6)) == nil)
    }

    @Test func fullTableDropsExpiredEntriesFirst() {
        let throttle = AdminLoginThrottle(maximumFailures: 2, window: .seconds(60), maximumAddresses: 2)
        throttle.recordFailure("192.0.2.1", now: start)
        throttle.recordFailure("192.0.2.2", now: start + .seconds(30))
        throttle.recordFailure("192.0.2.2", now: start + .seconds(31))
        throttle.recordFailure("192.0.2.3", now: start + .seconds(70))
        #expect(throttle.trackedCount == 2)
        #expect(throttle.blockedFor("192.0.2.2", now: start + .seconds(70)) != nil)
    }
}

@Suite struct AdminLoginBlockingTests {
    let right = "Basic " + Data("admin:pw".utf8).base64EncodedString()
    let wrong = "Basic " + Data("admin:guess".utf8).base64EncodedString()

    private func status(_ harness: ServerHarness, _ authorization: String, from address: String?) -> ServerResponse? {
        harness.send(
            ServerRequest(
                method: "GET", target: "/admin/status", headers: [("Authorization", authorization)],
                peerAddress: address))
    }

    @Test func addressIsBlockedAfterTenFailures() throws {
        let harness = try ServerHarness(admin: try AdminCredentials(username: "admin", password: "pw"))
        for _ in 0..<10 {
            #expect(status(harness, wrong, from: "192.0.2.7")?.code == .unauthorized)
        }
        let blocked = try #require(status(harness, right, from: "192.0.2.7"))
        #expect(blocked.status == 429)
        #expect(blocked.code == .tooManyLoginFailures)
        let retryAfter = try #require(blocked.header("Retry-After").flatMap { Int($0) })
        #expect(retryAfter >= 1)
        #expect(retryAfter <= 60)
        #expect(String(decoding: blocked.body, as: UTF8.self).contains("192.0.2.7"))
        #expect(harness.logged("admin API blocked for a client address"))

        // Other addresses, and requests whose address is not known, are not affected.
        #expect(status(harness, right, from: "192.0.2.8")?.status == 200)
        #expect(status(harness, right, from: nil)?.status == 200)
    }

    /// The rejection log names the address that sent wrong credentials, and neither the password nor the header.
    @Test func wrongCredentialsAreLoggedWithAddress() throws {
        let harness = try ServerHarness(admin: try AdminCredentials(username: "admin", password: "pw"))
        #expect(status(harness, wrong, from: "192.0.2.7")?.code == .unauthorized)
        let line = try #require(harness.logLines.lines.first { $0.contains("code=unauthorized") })
        #expect(line.contains("address=192.0.2.7"), "\(line)")
        #expect(!line.contains("guess"), "\(line)")
        #expect(!line.contains(String(wrong.dropFirst("Basic ".count))), "\(line)")
    }

    @Test func rightCredentialsClearFailures() throws {
        let harness = try ServerHarness(admin: try AdminCredentials(username: "admin", password: "pw"))
        for _ in 0..<9 { _ = status(harness, wrong, from: "192.0.2.7") }
        #expect(status(harness, right, from: "192.0.2.7")?.status == 200)
        for _ in 0..<9 {
            #expect(status(harness, wrong, from: "192.0.2.7")?.code == .unauthorized)
        }
        #expect(status(harness, right, from: "192.0.2.7")?.status == 200)
    }

    /// Over a real socket the transport passes the client's address, so the block applies to it.
    @Test func loopbackClientIsBlocked() async throws {
        try await PlainUploadHarness.run { harness in
            for _ in 0..<10 {
                let response = try await harness.send(
                    HTTPClientRequest(path: "/admin/status", headers: ["Authorization": wrong]))
                #expect(response.statusCode == 401)
            }
            let blocked = try await harness.send(
                HTTPClientRequest(path: "/admin/status", headers: ["Authorization": right]))
            #expect(blocked.statusCode == 429)
            #expect(blocked.headers["Retry-After"] != nil)
            #expect(String(decoding: blocked.body, as: UTF8.self).contains("127.0.0.1"))
        }
    }
}
