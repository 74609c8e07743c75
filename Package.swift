// swift-tools-version:6.0
// SPDX-License-Identifier: Apache-2.0
//
// Layers, bottom to top: C system libraries (module maps), the wrappers that alone import them
// (DCFCrypto, DCFCompression, DCFTransport, the SQLite store inside DCFServer), the pure-Swift
// protocol module, the server and worker backends, the strategy and the trainers, and thin
// executables whose main.swift only wires parts together.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .unsafeFlags(["-warnings-as-errors"], .when(configuration: .debug)),
]

let package = Package(
    name: "dcf",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dcf-serverd", targets: ["dcf-serverd"]),
        .executable(name: "dcf-agent", targets: ["dcf-agent"]),
        .executable(name: "dcfctl", targets: ["dcfctl"]),
    ],
    targets: [
        // C libraries from Debian, through module maps.
        .systemLibrary(name: "COpenSSL", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLinux"),
        .systemLibrary(name: "CBLAS", providers: [.apt(["libopenblas-dev"])]),

        // Wrappers and shared building blocks.
        .target(name: "DCFSupport", dependencies: ["CLinux"], swiftSettings: strict),
        .target(name: "DCFCrypto", dependencies: ["COpenSSL"], swiftSettings: strict),
        .target(name: "DCFCompression", dependencies: ["CZlib"], swiftSettings: strict),
        .target(name: "DCFTransport", dependencies: ["COpenSSL", "CLinux", "DCFSupport"], swiftSettings: strict),
        .target(name: "DCFProtocol", swiftSettings: strict),

        // Backends, strategy, trainers.
        .target(
            name: "DCFServer",
            dependencies: ["DCFProtocol", "DCFCrypto", "DCFCompression", "DCFTransport", "DCFSupport", "CSQLite"],
            swiftSettings: strict
        ),
        .target(
            name: "DCFWorker",
            dependencies: ["DCFProtocol", "DCFCrypto", "DCFCompression", "DCFTransport", "DCFSupport"],
            swiftSettings: strict
        ),
        .target(
            name: "FedAvg", dependencies: ["DCFCrypto", "DCFProtocol", "DCFServer", "DCFSupport"], swiftSettings: strict),
        .target(
            name: "DCFTraining",
            dependencies: ["DCFProtocol", "DCFCompression", "DCFSupport", "CBLAS"],
            swiftSettings: strict
        ),

        // Executables.
        .executableTarget(
            name: "dcf-serverd",
            dependencies: ["DCFServer", "FedAvg", "DCFTransport", "DCFSupport"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "dcf-agent",
            dependencies: ["DCFWorker", "DCFTraining", "DCFCrypto", "DCFProtocol", "DCFSupport", "DCFTransport"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "dcfctl", dependencies: ["DCFProtocol", "DCFTransport", "DCFSupport"], swiftSettings: strict),
        .executableTarget(name: "dcf-train-bench", dependencies: ["DCFTraining"], swiftSettings: strict),

        .executableTarget(
            name: "dcf-loadgen",
            dependencies: ["DCFWorker", "DCFProtocol", "DCFCrypto", "DCFSupport"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "dcf-transport-bench",
            dependencies: ["DCFTransport", "DCFSupport"],
            swiftSettings: strict
        ),

        .executableTarget(
            name: "dcf-microbench",
            dependencies: ["DCFServer", "DCFTransport", "DCFCrypto", "DCFProtocol", "DCFSupport", "FedAvg"],
            swiftSettings: strict
        ),

        // Tests.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "DCFProtocolTests", dependencies: ["DCFProtocol", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DCFCryptoTests", dependencies: ["DCFCrypto", "DCFCompression", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DCFSupportTests", dependencies: ["DCFSupport", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DCFTransportTests", dependencies: ["DCFTransport", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "DCFServerTests",
            dependencies: ["DCFServer", "DCFWorker", "DCFProtocol", "DCFCrypto", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(name: "FedAvgTests", dependencies: ["FedAvg", "DCFProtocol", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DCFTrainingTests", dependencies: ["DCFTraining", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["TestSupport", "DCFProtocol", "DCFWorker", "DCFCrypto", "DCFTransport", "DCFSupport"],
            swiftSettings: strict
        ),
    ]
)
