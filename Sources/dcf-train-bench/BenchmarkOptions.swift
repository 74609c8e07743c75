// SPDX-License-Identifier: Apache-2.0
import DCFTraining

/// The command-line options of `dcf-train-bench`.
struct BenchmarkOptions {
    var dataDirectory = FashionMNIST.defaultDirectory
    var layerSizes = [784, 128, 10]
    var training = TrainingOptions(learningRate: 0.05, epochs: 1, batchSize: 32, seed: 1)
    var modelSeed: UInt64 = 1
    var maxExamples: Int?
    var savePath: String?

    static let usage = """
        usage: dcf-train-bench [options]
          --data-dir PATH        directory of the Fashion-MNIST .gz files (default \(FashionMNIST.defaultDirectory))
          --layers A,B,...       layer sizes, inputs first (default 784,128,10)
          --epochs N             passes over the training split (default 1)
          --batch-size N         examples per SGD step (default 32)
          --learning-rate X      SGD step size (default 0.05)
          --seed N               seed of the initialization and the shuffles (default 1)
          --max-examples N       train on the first N training images only (default all 60,000)
          --save PATH            write the trained model to PATH as a safetensors file
        OpenBLAS reads its thread count from OPENBLAS_NUM_THREADS.
        """

    /// Parses `arguments` (without the program name).
    static func parse(_ arguments: [String]) throws(UsageError) -> BenchmarkOptions {
        var options = BenchmarkOptions()
        var remaining = arguments[...]
        let known: Set = [
            "--data-dir", "--layers", "--epochs", "--batch-size", "--learning-rate", "--seed", "--max-examples", "--save",
        ]
        while let flag = remaining.popFirst() {
            guard known.contains(flag) else { throw UsageError("unknown option \(flag)") }
            guard let value = remaining.popFirst() else { throw UsageError("\(flag) needs a value") }
            switch flag {
            case "--data-dir": options.dataDirectory = value
            case "--layers":
                options.layerSizes = []
                for size in value.split(separator: ",") { options.layerSizes.append(try integer(String(size), flag)) }
            case "--epochs": options.training.epochs = try integer(value, flag)
            case "--batch-size": options.training.batchSize = try integer(value, flag)
            case "--learning-rate":
                guard let rate = Float(value) else { throw UsageError("--learning-rate \(value) is not a number") }
                options.training.learningRate = rate
            case "--seed":
                guard let seed = UInt64(value) else {
                    throw UsageError("--seed \(value) is not a non-negative integer")
                }
                options.modelSeed = seed
                options.training.seed = seed
            case "--max-examples": options.maxExamples = try integer(value, flag)
            case "--save": options.savePath = value
            default: throw UsageError("unknown option \(flag)")
            }
        }
        return options
    }

    private static func integer(_ text: String, _ flag: String) throws(UsageError) -> Int {
        guard let value = Int(text) else { throw UsageError("\(flag) \(text) is not an integer") }
        return value
    }
}

/// A command-line mistake, printed with the usage text.
struct UsageError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
