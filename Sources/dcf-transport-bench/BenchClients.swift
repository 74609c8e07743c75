// SPDX-License-Identifier: Apache-2.0
import DCFTransport
import Foundation
import Synchronization

/// The client side of the benchmark, run in a child process so the server process keeps its own descriptor
/// limit and its memory figure counts only the server.
enum BenchClients {
    /// Runs `count` blocking clients on threads with small stacks, `batch` started at a time, and waits for all.
    static func runThreads(count: Int, batch: Int = 200, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            let thread = Thread {
                body(index)
                group.leave()
            }
            thread.stackSize = 256 * 1024
            thread.start()
            if index % batch == batch - 1 { Thread.sleep(forTimeInterval: 0.05) }
        }
        group.wait()
    }

    static func makeClient(port: Int, caFile: String?) throws -> HTTPClient {
        let transport: HTTPClientConfiguration.Transport =
            caFile.map { .tls(.client(trustedCAFile: $0, serverName: "localhost")) } ?? .plainTCP
        let configuration = HTTPClientConfiguration(
            transport: transport, connectTimeout: .seconds(60), idleTimeout: .seconds(600),
            maximumResponseBodySize: 128 << 20, maximumIdleConnections: 20_000
        )
        return try HTTPClient(host: "127.0.0.1", port: port, configuration: configuration)
    }

    /// Parks `count` requests and prints how many got a response once the server releases them.
    static func parked(port: Int, caFile: String?, count: Int) throws {
        let client = try makeClient(port: port, caFile: caFile)
        let answered = Atomic(0)
        let failures = Mutex<[String]>([])
        runThreads(count: count) { _ in
            do {
                let response = try client.execute(HTTPClientRequest(path: "/park", idleTimeout: .seconds(600)))
                if response.statusCode == 200 { answered.add(1, ordering: .relaxed) }
            } catch {
                failures.withLock { if $0.count < 5 { $0.append("\(error)") } }
            }
        }
        print("result answered=\(answered.load(ordering: .relaxed)) failures=\(count - answered.load(ordering: .relaxed))")
        for failure in failures.withLock({ $0 }) { print("failure \(failure)") }
    }

    /// Downloads `/model` once per client, all at once, and prints the bytes and seconds.
    static func download(port: Int, caFile: String?, count: Int) throws {
        let client = try makeClient(port: port, caFile: caFile)
        let bytes = Atomic(0)
        let start = ContinuousClock.now
        runThreads(count: count, batch: count) { _ in
            do {
                _ = try client.execute(HTTPClientRequest(path: "/model")) { _, chunk in
                    bytes.add(chunk.count, ordering: .relaxed)
                }
            } catch {
                print("failure \(error)")
            }
        }
        let seconds = seconds(since: start)
        print("result bytes=\(bytes.load(ordering: .relaxed)) seconds=\(seconds)")
    }

    /// POSTs `megabytes` MiB to `/upload` once per client, all at once, and prints the bytes and seconds.
    static func upload(port: Int, caFile: String?, count: Int, megabytes: Int) throws {
        let client = try makeClient(port: port, caFile: caFile)
        let length = megabytes << 20
        let block = Data(repeating: 0xA5, count: 1 << 20)
        let bytes = Atomic(0)
        let start = ContinuousClock.now
        runThreads(count: count, batch: count) { _ in
            let produced = Atomic(0)
            let body = HTTPClientRequest.Body.stream(length: length) {
                let sent = produced.load(ordering: .relaxed)
                guard sent < length else { return nil }
                let chunk = min(block.count, length - sent)
                produced.store(sent + chunk, ordering: .relaxed)
                return chunk == block.count ? block : block.prefix(chunk)
            }
            do {
                let response = try client.execute(HTTPClientRequest(method: "POST", path: "/upload", body: body))
                let received = Int(String(decoding: response.body, as: UTF8.self)) ?? 0
                guard response.statusCode == 200, received == length else {
                    print("failure status \(response.statusCode), server received \(received) of \(length) bytes")
                    return
                }
                bytes.add(received, ordering: .relaxed)
            } catch {
                print("failure \(error)")
            }
        }
        let seconds = seconds(since: start)
        print("result bytes=\(bytes.load(ordering: .relaxed)) seconds=\(seconds)")
    }

    /// Sends small requests on `threads` keep-alive connections for `duration` seconds; prints the count.
    static func rate(port: Int, caFile: String?, threads: Int, duration: Double) throws {
        let client = try makeClient(port: port, caFile: caFile)
        let requests = Atomic(0)
        let start = ContinuousClock.now
        runThreads(count: threads, batch: threads) { _ in
            while seconds(since: start) < duration {
                guard (try? client.execute(HTTPClientRequest(path: "/small"))) != nil else { return }
                requests.add(1, ordering: .relaxed)
            }
        }
        print("result requests=\(requests.load(ordering: .relaxed)) seconds=\(seconds(since: start))")
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
