// SPDX-License-Identifier: Apache-2.0
import DCFTraining
import Testing

@Suite struct DeterminismTests {
    @Test func sameSeedGivesSameInitialization() throws {
        let first = try MultilayerPerceptron(layerSizes: [20, 16, 4], seed: 42)
        let second = try MultilayerPerceptron(layerSizes: [20, 16, 4], seed: 42)
        let other = try MultilayerPerceptron(layerSizes: [20, 16, 4], seed: 43)
        #expect(first.exportTensors() == second.exportTensors())
        #expect(first.exportTensors() != other.exportTensors())
    }

    @Test func sameSeedGivesSameTraining() throws {
        let dataset = try makeRandomDataset(count: 150, featureCount: 20, classCount: 4, seed: 5)
        let options = TrainingOptions(learningRate: 0.1, epochs: 2, batchSize: 16, seed: 9)
        var first = try MultilayerPerceptron(layerSizes: [20, 16, 4], seed: 42)
        var second = first
        var reshuffled = first
        let firstResult = try first.train(on: dataset, options: options)
        let secondResult = try second.train(on: dataset, options: options)
        var otherOptions = options
        otherOptions.seed = 10
        _ = try reshuffled.train(on: dataset, options: otherOptions)
        #expect(first.exportTensors() == second.exportTensors())
        #expect(firstResult == secondResult)
        #expect(first.exportTensors() != reshuffled.exportTensors())
    }

    @Test func generatorSequenceIsFixed() {
        // xoshiro256** seeded by SplitMix64 from 0, as computed by an independent Python transcription of the
        // reference algorithms; a change here would change every seeded result.
        var generator = SeededGenerator(seed: 0)
        let draws = (0..<3).map { _ in generator.next() }
        #expect(draws == [0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0])
        var bounded = SeededGenerator(seed: 1)
        let indices = (0..<1000).map { _ in bounded.nextIndex(below: 7) }
        #expect(indices.allSatisfy { (0..<7).contains($0) })
        #expect(Set(indices).count == 7)
    }
}
