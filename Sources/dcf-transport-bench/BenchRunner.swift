// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import DCFTransport
import Foundation

struct BenchSettings {
    var parked: Int
    var downloads: Int
    var modelMiB: Int
    var uploads: Int
    var uploadMiB: Int
    var rateThreads: Int
    var rateSeconds: Int
}

/// Starts a TLS and a plain server in this process and drives them from client processes.
final class BenchRunner {
    private let settings: BenchSettings
    private let handler: BenchHandler
    private let directory: String
    /// Measurements that fell short of what the settings asked for; the run exits 1 when there are any.
    private var shortfalls: [String] = []

    init(settings: BenchSettings) {
        self.settings = settings
        handler = BenchHandler(modelBytes: settings.modelMiB << 20)
        directory = NSTemporaryDirectory() + "dcf-transport-bench-\(getpid())"
    }

    func run() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (certificate, key) = try BenchEnvironment.makeCertificate(in: directory)
        let logger = Logger(component: "bench", sink: .standardError(level: .warning))
        var limits = HTTPServerLimits()
        limits.maxConnections = settings.parked + 1000
        limits.handshakeTimeout = .seconds(60)
        let context = try TLSContext(configuration: .server(certificateChainFile: certificate, privateKeyFile: key))
        let tlsServer = HTTPServer(
            configuration: HTTPServerConfiguration(port: 0, security: .tls(context), limits: limits, listenBacklog: 4096),
            handler: handler, logger: logger
        )
        let plainServer = HTTPServer(
            configuration: HTTPServerConfiguration(port: 0, security: .plaintext, limits: limits),
            handler: handler, logger: logger
        )
        let tlsPort = try tlsServer.start()
        let plainPort = try plainServer.start()
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(BenchEnvironment.cpuModel())")
        print("load average (1 min) at start: \(BenchEnvironment.loadAverage())")
        try measureParked(server: tlsServer, port: tlsPort, ca: certificate)
        let aesRate = try BenchEnvironment.opensslAESGCMBytesPerSecond()
        print("openssl speed -evp aes-128-gcm (16 KiB blocks, one core): \(format(aesRate / 1_048_576)) MiB/s")
        try measureDownload(port: tlsPort, ca: certificate, aesRate: aesRate)
        try measureUpload(port: tlsPort, ca: certificate, aesRate: aesRate)
        try measureRate(port: tlsPort, ca: certificate, label: "TLS")
        try measureRate(port: plainPort, ca: nil, label: "plain TCP")
        let done = DispatchSemaphore(value: 0)
        Task {
            await tlsServer.shutdown(gracePeriod: .seconds(2))
            await plainServer.shutdown(gracePeriod: .seconds(2))
            done.signal()
        }
        done.wait()
        if !shortfalls.isEmpty { throw BenchError(shortfalls.joined(separator: "; ")) }
    }

    private func measureParked(server: HTTPServer, port: Int, ca: String) throws {
        let count = settings.parked
        let baseline = BenchEnvironment.residentKiB()
        let start = ContinuousClock.now
        let clients = try ClientProcess(["parked", "--port", "\(port)", "--ca", ca, "--count", "\(count)"])
        var parked = 0
        var lastGrowth = ContinuousClock.now
        // At most 300 s, and 30 s without a new parked request ends the wait early: the clients have then run
        // out of something (ports, descriptors) and will not reach the count.
        for _ in 0..<3000 {
            let now = server.statistics.parkedRequests
            if now > parked { lastGrowth = .now }
            parked = now
            if parked >= count || ContinuousClock.now - lastGrowth > .seconds(30) { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        if parked < count {
            shortfalls.append(
                "held \(parked) of \(count) parked requests; check the open-file limit (ulimit -n) and the "
                    + "ephemeral port range (net.ipv4.ip_local_port_range), or lower --parked")
        }
        let connectSeconds = BenchClients.seconds(since: start)
        let resident = BenchEnvironment.residentKiB()
        let open = server.statistics.openConnections
        let perConnection = Double(resident - baseline) * 1024 / Double(max(parked, 1))
        print("parked TLS requests held: \(parked) of \(count) (open connections \(open)), reached in \(format(connectSeconds)) s")
        print("server RSS: \(baseline / 1024) MiB before, \(resident / 1024) MiB parked; \(format(perConnection / 1024)) KiB per parked connection")
        let releaseStart = ContinuousClock.now
        let released = handler.releaseParked()
        let result = try clients.waitForResult()
        print("released \(released) parked requests; clients got \(Int(result["answered"] ?? 0)) answers in \(format(BenchClients.seconds(since: releaseStart))) s")
    }

    private func measureDownload(port: Int, ca: String, aesRate: Double) throws {
        let baseline = BenchEnvironment.residentKiB()
        let cpuBefore = BenchEnvironment.cpuSeconds()
        let result = try ClientProcess(["download", "--port", "\(port)", "--ca", ca, "--count", "\(settings.downloads)"])
            .waitForResult()
        let label = "download: \(settings.downloads) clients x \(settings.modelMiB) MiB over TLS"
        report(label, result: result, serverCPU: BenchEnvironment.cpuSeconds() - cpuBefore, aesRate: aesRate)
        print("server RSS after downloads: \(BenchEnvironment.residentKiB() / 1024) MiB (before: \(baseline / 1024) MiB)")
    }

    private func measureUpload(port: Int, ca: String, aesRate: Double) throws {
        let cpuBefore = BenchEnvironment.cpuSeconds()
        let result = try ClientProcess([
            "upload", "--port", "\(port)", "--ca", ca, "--count", "\(settings.uploads)", "--mib", "\(settings.uploadMiB)",
        ]).waitForResult()
        let label = "upload: \(settings.uploads) clients x \(settings.uploadMiB) MiB over TLS"
        report(label, result: result, serverCPU: BenchEnvironment.cpuSeconds() - cpuBefore, aesRate: aesRate)
    }

    /// Prints a bulk transfer's wall-clock rate and its bytes per server CPU-second, both against `aesRate`.
    private func report(_ label: String, result: [String: Double], serverCPU: Double, aesRate: Double) {
        let bytes = result["bytes"] ?? 0
        let seconds = result["seconds"] ?? 1
        let rate = bytes / seconds
        let perCPU = bytes / max(serverCPU, 0.001)
        print("\(label): \(format(bytes / 1_048_576)) MiB in \(format(seconds)) s = \(format(rate / 1_048_576)) MiB/s")
        print("  wall-clock ratio \(format(rate / aesRate)) (clients share the 2 cores and do the other half of the crypto)")
        print("  server CPU \(format(serverCPU)) s: \(format(perCPU / 1_048_576)) MiB per server CPU-second, ratio \(format(perCPU / aesRate)) per core")
        print("  load average (1 min) after: \(BenchEnvironment.loadAverage())")
    }

    private func measureRate(port: Int, ca: String?, label: String) throws {
        var arguments = ["rate", "--port", "\(port)", "--count", "\(settings.rateThreads)", "--seconds", "\(settings.rateSeconds)"]
        if let ca { arguments += ["--ca", ca] }
        let result = try ClientProcess(arguments).waitForResult()
        let requests = result["requests"] ?? 0
        let seconds = result["seconds"] ?? 1
        print("small requests over \(label) keep-alive, \(settings.rateThreads) connections: \(Int(requests)) in \(format(seconds)) s = \(Int(requests / seconds)) requests/s")
    }

    private func format(_ value: Double) -> String {
        String(format: "%.2f", value)
    }
}
