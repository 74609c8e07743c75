// SPDX-License-Identifier: Apache-2.0
import DCFTraining
import Testing

@Suite struct TrainingRunTests {
    @Test func shortFashionRunBeatsChance() throws {
        try #require(try fashionFile("t10k-labels-idx1-ubyte.gz").count > 0)
        let train = try FashionMNIST.load(.train, maxExamples: 2_000)
        let heldOut = try FashionMNIST.load(.test, maxExamples: 1_000)
        #expect(train.count == 2_000)
        #expect(heldOut.count == 1_000)
        var model = try MultilayerPerceptron(layerSizes: [784, 64, 10], seed: 1)
        let before = try model.evaluate(on: heldOut)
        let result = try model.train(on: train, options: TrainingOptions(learningRate: 0.1, epochs: 1, batchSize: 32))
        let after = try model.evaluate(on: heldOut)
        #expect(result.examples == 2_000)
        #expect(result.examplesProcessed == 2_000)
        #expect(after.examples == 1_000)
        // Chance is 10% on the 10 classes; one epoch over 2,000 images gives about 65-70%.
        #expect(after.accuracy > 0.5, "held-out accuracy \(after.accuracy)")
        #expect(after.loss < before.loss, "loss \(before.loss) → \(after.loss)")
    }

    @Test func siteSelectionLoadsFashionShard() throws {
        var selection = SiteDataSelection()
        try selection.setShard("3/10")
        try selection.setClasses("0,1")
        selection.maxExamples = 500
        selection.heldOut = .testSplit
        let site = try selection.loadFashionMNIST()
        // Classes 0 and 1 have 12,000 training images, so shard 3 of 10 has 1,200 before the cap.
        #expect(site.training.count == 500)
        #expect(Set(site.training.labels) == [0, 1])
        #expect(site.heldOut.count == 500)
        #expect(Set(site.heldOut.labels) == [0, 1])
        #expect(site.training.featureCount == 784)
        #expect(site.training.features.min()! >= 0)
        #expect(site.training.features.max()! <= 1)
    }

    @Test func progressReportsEveryInterval() throws {
        let dataset = try makeRandomDataset(count: 100, featureCount: 8, classCount: 3, seed: 1)
        var model = try MultilayerPerceptron(layerSizes: [8, 3], seed: 1)
        var options = TrainingOptions(learningRate: 0.1, epochs: 2, batchSize: 10)
        options.progressInterval = 30
        var reports: [TrainingProgress] = []
        let result = try model.train(on: dataset, options: options) { reports.append($0) }
        #expect(reports.map(\.examplesProcessed) == [30, 60, 90, 100, 130, 160, 190, 200])
        #expect(reports.map(\.epoch) == [0, 0, 0, 0, 1, 1, 1, 1])
        #expect(reports.allSatisfy { $0.totalExamples == 200 })
        #expect(reports.last?.epochMeanLoss == result.meanLoss)
        #expect(result.examplesProcessed == 200)
    }

    @Test func cancellationStopsBetweenBatches() async throws {
        let dataset = try makeRandomDataset(count: 100, featureCount: 8, classCount: 3, seed: 1)
        let task = Task {
            var model = try MultilayerPerceptron(layerSizes: [8, 3], seed: 1)
            var options = TrainingOptions(learningRate: 0.1, epochs: 1, batchSize: 10)
            options.progressInterval = 20
            var reports = 0
            do {
                _ = try model.train(on: dataset, options: options) { _ in
                    reports += 1
                    withUnsafeCurrentTask { $0?.cancel() }
                }
            } catch is CancellationError {
                return reports
            }
            return -1
        }
        #expect(try await task.value == 1)
    }

    @Test func divergenceThrowsAndRestores() throws {
        let features = (0..<400).map { Float($0 % 7) * 1e4 }
        let dataset = try Dataset(features: features, labels: (0..<50).map { $0 % 3 }, featureCount: 8, classCount: 3)
        var model = try MultilayerPerceptron(layerSizes: [8, 16, 3], seed: 1)
        let before = model.exportTensors()
        let error = #expect(throws: TrainingError.self) {
            try model.train(on: dataset, options: TrainingOptions(learningRate: 1e6, epochs: 3, batchSize: 5))
        }
        #expect(error?.description.contains("lower the learning rate") == true, "\(String(describing: error))")
        #expect(model.exportTensors() == before)
    }

    @Test func cancellationRestoresParameters() async throws {
        let dataset = try makeRandomDataset(count: 100, featureCount: 8, classCount: 3, seed: 1)
        let initial = try MultilayerPerceptron(layerSizes: [8, 3], seed: 1)
        let task = Task {
            var model = initial
            var options = TrainingOptions(learningRate: 0.1, epochs: 1, batchSize: 10)
            options.progressInterval = 50
            _ = try? model.train(on: dataset, options: options) { _ in withUnsafeCurrentTask { $0?.cancel() } }
            return model.exportTensors()
        }
        #expect(await task.value == initial.exportTensors())
    }

    @Test func incompatibleDataIsRejected() throws {
        var model = try MultilayerPerceptron(layerSizes: [8, 3], seed: 1)
        let wide = try makeRandomDataset(count: 5, featureCount: 9, classCount: 3, seed: 1)
        let manyClasses = try makeRandomDataset(count: 5, featureCount: 8, classCount: 4, seed: 1)
        let fits = try makeRandomDataset(count: 5, featureCount: 8, classCount: 3, seed: 1)
        #expect(throws: TrainingError.self) { try model.train(on: wide, options: TrainingOptions()) }
        #expect(throws: TrainingError.self) { try model.evaluate(on: manyClasses) }
        #expect(throws: TrainingError.self) {
            try model.train(on: fits, options: TrainingOptions(learningRate: -1, epochs: 1, batchSize: 4))
        }
        #expect(throws: TrainingError.self) {
            try model.train(on: fits, options: TrainingOptions(learningRate: 0.1, epochs: 0, batchSize: 4))
        }
    }
}
