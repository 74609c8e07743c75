// SPDX-License-Identifier: Apache-2.0
import DCFTraining
import Testing

@Suite struct ShardingTests {
    /// Makes a dataset of `count` examples whose single feature is the example's original position.
    private func numbered(_ count: Int, classCount: Int = 10) throws -> Dataset {
        try Dataset(
            features: (0..<count).map(Float.init), labels: (0..<count).map { $0 % classCount },
            featureCount: 1, classCount: classCount
        )
    }

    private func ids(_ dataset: Dataset) -> [Int] { dataset.features.map { Int($0) } }

    @Test(arguments: [1, 2, 3, 7, 103])
    func iidShardsPartitionTheDataset(shardCount: Int) throws {
        let dataset = try numbered(103)
        let shards = try (0..<shardCount).map { try dataset.shard(index: $0, of: shardCount, seed: 5) }
        let all = shards.flatMap(ids)
        #expect(all.count == 103)
        #expect(Set(all) == Set(0..<103))
        let sizes = shards.map(\.count)
        #expect(sizes.max()! - sizes.min()! <= 1, "sizes \(sizes)")
        for shard in shards {
            #expect(zip(ids(shard), shard.labels).allSatisfy { $0 % 10 == $1 }, "labels moved with their features")
        }
    }

    @Test func shardsDependOnSeed() throws {
        let dataset = try numbered(50)
        let first = try dataset.shard(index: 0, of: 2, seed: 1)
        #expect(ids(first) == ids(try dataset.shard(index: 0, of: 2, seed: 1)))
        #expect(ids(first) != ids(try dataset.shard(index: 0, of: 2, seed: 2)))
    }

    @Test(arguments: [(0, 0), (-1, 3), (3, 3)])
    func invalidShardIsRejected(index: Int, count: Int) throws {
        let dataset = try numbered(10)
        #expect(throws: DatasetError.self) { try dataset.shard(index: index, of: count, seed: 0) }
    }

    @Test func classFilterKeepsOnlyThoseClasses() throws {
        let dataset = try numbered(100)
        let filtered = try dataset.filtered(toClasses: [0, 1, 2])
        #expect(filtered.count == 30)
        #expect(Set(filtered.labels) == [0, 1, 2])
        #expect(filtered.classCounts() == [10, 10, 10, 0, 0, 0, 0, 0, 0, 0])
        #expect(throws: DatasetError.self) { try dataset.filtered(toClasses: [10]) }
        #expect(throws: DatasetError.self) { try dataset.filtered(toClasses: []) }
    }

    @Test func heldOutSplitIsDisjointAndComplete() throws {
        let dataset = try numbered(95)
        let (training, heldOut) = try dataset.splitHeldOut(fraction: 0.2, seed: 3)
        #expect(heldOut.count == 19)
        #expect(training.count == 76)
        #expect(Set(ids(training)).isDisjoint(with: ids(heldOut)))
        #expect(Set(ids(training) + ids(heldOut)) == Set(0..<95))
        #expect(throws: DatasetError.self) { try dataset.splitHeldOut(fraction: 1, seed: 3) }
    }

    @Test func siteSelectionCombinesSteps() throws {
        let train = try numbered(1000)
        let test = try numbered(200)
        var selection = SiteDataSelection()
        selection.classes = [3, 4]
        selection.shardCount = 2
        selection.maxExamples = 60
        selection.heldOut = .fractionOfShard(0.25)
        let sites = try (0..<2).map { index in
            var site = selection
            site.shardIndex = index
            return try site.apply(train: train, test: nil)
        }
        for site in sites {
            #expect(site.training.count == 45)
            #expect(site.heldOut.count == 15)
            #expect(Set(site.training.labels + site.heldOut.labels).isSubset(of: [3, 4]))
            #expect(Set(ids(site.training)).isDisjoint(with: ids(site.heldOut)))
        }
        let siteIDs = sites.map { Set(ids($0.training) + ids($0.heldOut)) }
        #expect(siteIDs[0].isDisjoint(with: siteIDs[1]))

        selection.heldOut = .testSplit
        let withTest = try selection.apply(train: train, test: test)
        #expect(withTest.training.count == 60)
        #expect(withTest.heldOut.count == 40)
        #expect(Set(withTest.heldOut.labels) == [3, 4])
        #expect(throws: DatasetError.self) { try selection.apply(train: train, test: nil) }
    }

    @Test func emptyShardIsRejected() throws {
        let train = try numbered(20)
        var selection = SiteDataSelection()
        selection.classes = [1]
        selection.shardCount = 3
        selection.shardIndex = 0
        let error = #expect(throws: DatasetError.self) { try selection.apply(train: train, test: nil) }
        #expect(error?.description.contains("empty") == true, "\(String(describing: error))")
    }
}

@Suite struct SiteSelectionParsingTests {
    @Test func parsesShardAndClasses() throws {
        var selection = SiteDataSelection()
        try selection.setShard("2/5")
        try selection.setClasses("0, 3,3,9")
        #expect(selection.shardIndex == 2)
        #expect(selection.shardCount == 5)
        #expect(selection.classes == [0, 3, 9])
    }

    @Test(arguments: ["", "2", "5/5", "-1/3", "a/b", "1/0", "1/2/3"])
    func rejectsInvalidShard(text: String) {
        var selection = SiteDataSelection()
        let error = #expect(throws: DatasetError.self) { try selection.setShard(text) }
        #expect(error?.description.contains("\"\(text)\"") == true)
        #expect(selection == SiteDataSelection())
    }

    @Test(arguments: ["", "1,,2", "x", "-1", "1;2"])
    func rejectsInvalidClasses(text: String) {
        var selection = SiteDataSelection()
        #expect(throws: DatasetError.self) { try selection.setClasses(text) }
        #expect(selection.classes == nil)
    }
}
