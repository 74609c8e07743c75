// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import Foundation
import Testing

/// Runs scripts/make-safetensors-fixtures.py, which uses the safetensors and numpy packages from PyPI.
enum SafeTensorsPython {
    static let hint = "python3 with numpy and safetensors (0.8 or later) is required; run scripts/install-deps.sh --tests"

    static var scriptPath: String {
        // This file is Tests/DCFProtocolTests/<name>.swift, so the repository root is two levels up.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/make-safetensors-fixtures.py").path
    }

    /// Runs the script with `arguments` and records a test issue, with its error output and the install hint,
    /// unless it exits with status 0. Returns whether it succeeded.
    @discardableResult
    static func run(_ arguments: [String], in directory: SafeTensorsTemporaryDirectory) throws -> Bool {
        let errorPath = directory.file("python-stderr.txt")
        try #require(FileManager.default.createFile(atPath: errorPath, contents: nil))
        let errorHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        defer { try? errorHandle.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", scriptPath] + arguments
        process.standardOutput = errorHandle
        process.standardError = errorHandle
        do {
            try process.run()
        } catch {
            Issue.record("could not start /usr/bin/env python3: \(error); \(hint)")
            return false
        }
        // The script finishes in about a second; the deadline only stops a hung interpreter.
        let deadline = Date().addingTimeInterval(300)
        while process.isRunning && Date() < deadline {
            usleep(20_000)
        }
        if process.isRunning {
            process.terminate()
        }
        process.waitUntilExit()

        let errorOutput = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let status = process.terminationStatus
            let advice = status == 3 || status == 127 ? "; \(hint)" : ""
            let command = "make-safetensors-fixtures.py " + arguments.joined(separator: " ")
            Issue.record("\(command) exited with \(status)\(advice):\n\(errorOutput)")
            return false
        }
        return true
    }
}

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct SafeTensorsTemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/dcf-safetensors-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    }

    func file(_ name: String) -> String {
        path + "/" + name
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The expected content of one file, in the JSON form that make-safetensors-fixtures.py reads and writes.
struct ExpectedSafeTensorsFile: Codable {
    enum Values: Equatable {
        case floatingPoint([Double])
        case integer([Int64])
    }

    struct Tensor: Codable {
        let dtype: String
        let shape: [Int]
        let values: Values

        init(dtype: TensorDType, shape: [Int], values: Values) {
            self.dtype = dtype.rawValue
            self.shape = shape
            self.values = values
        }

        private enum CodingKeys: String, CodingKey {
            case dtype, shape, values
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            dtype = try container.decode(String.self, forKey: .dtype)
            shape = try container.decode([Int].self, forKey: .shape)
            if TensorDType(rawValue: dtype)?.isFloatingPoint == true {
                values = .floatingPoint(try container.decode([Double].self, forKey: .values))
            } else {
                values = .integer(try container.decode([Int64].self, forKey: .values))
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(dtype, forKey: .dtype)
            try container.encode(shape, forKey: .shape)
            switch values {
            case .floatingPoint(let numbers): try container.encode(numbers, forKey: .values)
            case .integer(let numbers): try container.encode(numbers, forKey: .values)
            }
        }
    }

    var metadata: [String: String]
    var tensors: [String: Tensor]

    /// Records an issue for every difference between `parsed` and this expectation.
    func check(_ parsed: SafeTensors, file: String) throws {
        #expect(parsed.metadata == metadata, "\(file): metadata")
        #expect(Set(parsed.names) == Set(tensors.keys), "\(file): tensor names")
        for (name, expected) in tensors {
            let tensor = try #require(parsed.tensor(named: name), "\(file): tensor \(name) missing")
            #expect(tensor.info.dtype.rawValue == expected.dtype, "\(file): \(name) dtype")
            #expect(tensor.info.shape == expected.shape, "\(file): \(name) shape")
            let values: Values =
                tensor.info.dtype.isFloatingPoint
                ? .floatingPoint(try tensor.doubleValues()) : .integer(try tensor.int64Values())
            #expect(values == expected.values, "\(file): \(name) values")
        }
    }
}
