// SPDX-License-Identifier: Apache-2.0
import DCFCrypto
import DCFSupport
import DCFWorker
import Foundation

/// The `workers` subcommand: runs `count` simulated workers in this process until it is terminated.
///
/// Each worker makes one request at a time, on a thread of its own with a 512 KiB stack, and keeps one or two
/// sockets open. `maximumCount` keeps a process well inside a 20,000 open-file limit; the coordinator starts
/// several processes for more workers.
enum WorkerProcess {
    /// The maximum number of workers in one process.
    static let maximumCount = 5000

    static let usage = """
        dcf-loadgen workers --url URL [--ca FILE] --key-dir DIR --first INDEX --count N
        """

    /// Ends this process once its coordinator is gone, even after `kill -9`, by checking every second whether
    /// the parent process has changed.
    private static func exitWhenParentExits() {
        let parent = getppid()
        let thread = Thread {
            while getppid() == parent { Thread.sleep(forTimeInterval: 1) }
            exit(0)
        }
        thread.stackSize = 64 << 10
        thread.start()
    }

    /// The largest download buffer that glibc keeps for reuse once freed, ten times the largest model of the
    /// benchmark scenarios.
    static let largestReusedBuffer: Int32 = 1 << 30

    /// Makes glibc keep the memory of freed downloads for the next ones; returns false when glibc rejected the
    /// settings. Each simulated worker receives every global model into a buffer of its own and frees it after its
    /// upload. By default glibc serves such buffers from fresh mappings or gives their pages back, and the
    /// kernel faults in and zeroes new pages for every download. One site receives one model per round and
    /// would not pay this hundreds of times over.
    private static func keepFreedBuffers() -> Bool {
        MemoryTuning.keepFreedMemory(largestReused: largestReusedBuffer)
    }

    static func run(_ arguments: Arguments) async throws {
        let url = try arguments.string("url")
        guard let serverURL = URL(string: url) else { throw UsageError("--url \"\(url)\" is not a URL") }
        let keyDirectory = try arguments.string("key-dir")
        let first = try arguments.integer("first")
        let count = try arguments.integer("count", range: 1...maximumCount)
        // The coordinator ignores SIGINT and SIGTERM to handle them itself, and an ignored signal stays ignored
        // across exec. Restoring the default lets the coordinator stop this process with SIGTERM.
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        exitWhenParentExits()
        let events = EventWriter()
        let keepsFreedBuffers = keepFreedBuffers()
        if !keepsFreedBuffers {
            // Counted as an error, so that a benchmark whose workers pay for fresh pages on every download reports it.
            events.send(
                WorkerEvent(
                    kind: .error, worker: first, version: 0,
                    message:
                        "mallopt failed: glibc rejected the allocator settings, so every download faults in new pages"))
        }
        let warmup = HeapWarmup(
            workerCount: count, largestReused: keepsFreedBuffers ? Int(largestReusedBuffer) : nil)
        let updates = UpdateCache()
        var workers: [SimulatedWorker] = []
        for index in first..<(first + count) {
            let keyPath = keyDirectory + "/worker-\(index)"
            if !FileManager.default.fileExists(atPath: keyPath) {
                _ = try Ed25519KeyFile.generate(at: keyPath)
            }
            var configuration = DCFWorkerConfiguration(
                serverURL: serverURL, trustedCAFile: arguments.optionalString("ca"), privateKeyFile: keyPath)
            configuration.maximumModelBytes = 1 << 31
            // The load generator shares two cores with the server, so replies can be slow under full load.
            configuration.requestIdleTimeout = .seconds(600)
            configuration.connectTimeout = .seconds(60)
            // Simulated workers share this host's kernel TCP memory with each other and the server, so fixed
            // buffers keep a thousand of them from using it up.
            configuration.socketBufferBytes = 256 << 10
            // A load run counts an update the server does not take within 15 s as an error, where a site would
            // wait out a long restart.
            configuration.updateRetryWindow = .seconds(15)
            workers.append(
                try SimulatedWorker(
                    index: index, configuration: configuration, events: events, updates: updates, warmup: warmup))
        }
        await withTaskGroup(of: Void.self) { group in
            for worker in workers {
                group.addTask { await worker.run() }
            }
        }
    }
}
