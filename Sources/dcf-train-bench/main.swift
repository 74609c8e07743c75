// SPDX-License-Identifier: Apache-2.0
// Measures the built-in trainer's throughput on Fashion-MNIST and the test accuracy it reaches.
import DCFTraining
import Foundation

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

func run(_ options: BenchmarkOptions) throws {
    let clock = ContinuousClock()
    let loadStart = clock.now
    let train = try FashionMNIST.load(.train, directory: options.dataDirectory, maxExamples: options.maxExamples)
    let test = try FashionMNIST.load(.test, directory: options.dataDirectory)
    print(String(format: "loaded %d training and %d test images in %.2f s", train.count, test.count,
                 seconds(clock.now - loadStart)))
    print("layers \(options.layerSizes), batch size \(options.training.batchSize), "
        + "learning rate \(options.training.learningRate), seed \(options.modelSeed), "
        + "OPENBLAS_NUM_THREADS=\(ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "unset")")
    print("\(OpenBLAS.configuration), \(OpenBLAS.threadCount) threads")

    var model = try MultilayerPerceptron(layerSizes: options.layerSizes, seed: options.modelSeed)
    let trainingSeconds = try trainEpochs(&model, on: train, options: options.training)
    let examples = options.training.epochs * train.count
    print(String(format: "training: %d examples in %.3f s = %.0f examples/s", examples, trainingSeconds,
                 Double(examples) / trainingSeconds))

    let evaluationStart = clock.now
    let evaluation = try model.evaluate(on: test)
    print(String(format: "test: loss %.4f, accuracy %.4f on %d images (evaluated in %.3f s)", evaluation.loss,
                 evaluation.accuracy, evaluation.examples, seconds(clock.now - evaluationStart)))
    if let savePath = options.savePath {
        try model.exportSafeTensors(metadata: ["format": "pt"]).write(to: URL(fileURLWithPath: savePath))
        print("saved the model to \(savePath)")
    }
}

/// Trains one epoch per call, so each epoch is timed alone, prints each epoch's figures and returns the
/// total training time in seconds.
func trainEpochs(_ model: inout MultilayerPerceptron, on train: Dataset, options: TrainingOptions) throws -> Double {
    let clock = ContinuousClock()
    var epochOptions = options
    epochOptions.epochs = 1
    var totalSeconds = 0.0
    for epoch in 0..<options.epochs {
        // The seed changes with the epoch so that each epoch draws a different shuffle.
        epochOptions.seed = options.seed &+ UInt64(epoch)
        let start = clock.now
        let result = try model.train(on: train, options: epochOptions)
        let elapsed = seconds(clock.now - start)
        totalSeconds += elapsed
        print(String(format: "epoch %d: %d examples in %.3f s = %.0f examples/s, mean loss %.4f",
                     epoch + 1, result.examplesProcessed, elapsed, Double(result.examplesProcessed) / elapsed,
                     result.meanLoss))
    }
    return totalSeconds
}

// Before any output: with its output piped into a program that exits early, the tool ends with its own status.
signal(SIGPIPE, SIG_IGN)
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains("--help") || arguments.contains("-h") {
    print(BenchmarkOptions.usage)
    exit(0)
}
do {
    try run(try BenchmarkOptions.parse(arguments))
} catch let error as UsageError {
    FileHandle.standardError.write(Data("dcf-train-bench: \(error.message)\n\(BenchmarkOptions.usage)\n".utf8))
    exit(64)
} catch {
    FileHandle.standardError.write(Data("dcf-train-bench: \(error)\n".utf8))
    exit(1)
}
