// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFServer
import DCFSupport
import Foundation
import Testing
@testable import FedAvg

/// Float64 values large enough that their weighted sum could overflow are rejected, so a published model
/// never contains NaN or infinity.
@Suite struct Float64OverflowTests {
    private let workers = ["dddddddd04", "eeeeeeee05"].map { WorkerID($0)! }

    private func model(_ values: [Double], metadata: [String: String] = [:]) throws -> Data {
        var writer = SafeTensorsWriter(metadata: metadata)
        try writer.add(name: "d.weight", shape: [values.count], values: values)
        return writer.serialize()
    }

    private func makeStrategy(_ directory: URL) throws -> FedAvgStrategy {
        let initial = directory.appendingPathComponent("initial.safetensors")
        try model([0, 0]).write(to: initial)
        var configuration = FedAvgConfiguration(stateDirectory: directory.appendingPathComponent("state"))
        configuration.initialModel = initial
        configuration.updateLimit = 2
        return try FedAvgStrategy(
            configuration: configuration, logger: Logger(component: "fedavg", sink: LogSink(level: .critical) { _ in }))
    }

    /// Builds an update of `values` with `examples`: in memory, or with `in: directory` in a spool file as the
    /// server passes it.
    private func update(_ values: [Double], examples: Int, in directory: URL? = nil) throws -> WorkerUpdate {
        let metadata = UpdateMetadata(numExamples: examples, baseVersion: 1)
        let payload = try model(values, metadata: metadata.safetensorsMetadata)
        guard let directory else { return WorkerUpdate(payload: payload, baseVersion: 1, bodySHA256: "") }
        let file = directory.appendingPathComponent("upload-\(UUID().uuidString)")
        try payload.write(to: file)
        return WorkerUpdate(
            payload: try Data(contentsOf: file, options: .alwaysMapped), baseVersion: 1, bodySHA256: "",
            payloadFile: file, nonFiniteTensors: [])
    }

    private func rejectionReason(_ body: () throws -> String) -> String? {
        do {
            _ = try body()
            return nil
        } catch let error as DCFErrorResponse {
            return error.error.reason
        } catch {
            return "\(error)"
        }
    }

    @Test(arguments: [false, true])
    func opposingHugeValuesAreRejected(fromFile: Bool) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("f64-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let strategy = try makeStrategy(directory)
        let fileDirectory = fromFile ? directory : nil

        // 1e308 × 2 examples passes the float64 maximum, and so would the sum of +1e308 and -1e308 terms.
        let first = try update([1e308, 1], examples: 2, in: fileDirectory)
        let second = try update([-1e308, 1], examples: 2, in: fileDirectory)
        #expect(rejectionReason { try strategy.receiveWorkerUpdate(workers[0], first) } == "value_out_of_range")
        #expect(rejectionReason { try strategy.receiveWorkerUpdate(workers[1], second) } == "value_out_of_range")
        #expect(strategy.roundStatus()["updates"] == 0)

        // Values at the bound are taken with any example count, so a published mean can always be sent back.
        let limit = FedAvgAccumulator.maximumFloat64Magnitude
        _ = try strategy.receiveWorkerUpdate(workers[0], try update([limit, 2], examples: 1, in: fileDirectory))
        _ = try strategy.receiveWorkerUpdate(
            workers[1], try update([limit, 4], examples: maximumExampleCount, in: fileDirectory))
        let global = try #require(strategy.returnGlobalModel())
        #expect(global.version == 2)
        let values = try #require(try SafeTensors(bytes: global.bytes).tensor(named: "d.weight")?.doubleValues())
        #expect(values[0] == limit)
        #expect(abs(values[1] - 4) < 1e-9)
    }

    @Test func nonFiniteSumsAreFound() {
        let accumulator = FedAvgAccumulator(tensors: [("a", .float64, [2]), ("b", .float64, [1])])
        let finite: [Double] = [1, 2]
        let huge: [Double] = [1.7e308]
        finite.withUnsafeBytes { a in
            huge.withUnsafeBytes { b in
                accumulator.fold(rawTensors: [[a, b]], weights: [1])
            }
        }
        #expect(accumulator.firstNonFiniteSum() == nil)
        finite.withUnsafeBytes { a in
            huge.withUnsafeBytes { b in
                // Folded without the checks the strategy makes: 1.7e308 × 10 overflows to infinity.
                accumulator.fold(rawTensors: [[a, b]], weights: [10])
            }
        }
        #expect(accumulator.firstNonFiniteSum() == "b")
    }
}
