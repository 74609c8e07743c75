// SPDX-License-Identifier: Apache-2.0

/// Checks that header entries describe a valid, gap-free layout of the data section.
enum SafeTensorsLayout {
    /// Returns the entries as `TensorInfo`, ordered by offset, after checking every layout rule.
    ///
    /// Rules: each byte range equals element count times dtype size, ranges start at 0 and follow each
    /// other with no gap or overlap, and the last one ends exactly at the end of the data section.
    static func validate(_ entries: [SafeTensorsHeader.Entry], dataSize: Int) throws -> [TensorInfo] {
        let tensors = try entries.map(checkSize).sorted(by: precedes)
        var previous: TensorInfo?
        for tensor in tensors {
            let begin = tensor.dataOffsets.lowerBound
            let expectedBegin = previous?.dataOffsets.upperBound ?? 0
            if begin > expectedBegin {
                throw SafeTensorsError.gap(tensor.name, begin: begin, after: previous)
            }
            if let previous, begin < expectedBegin {
                throw SafeTensorsError.overlap(tensor.name, begin: begin, previous: previous)
            }
            if tensor.dataOffsets.upperBound > dataSize {
                throw SafeTensorsError.tensorOutOfBounds(
                    tensor.name, end: tensor.dataOffsets.upperBound, dataSize: dataSize)
            }
            previous = tensor
        }
        let lastEnd = previous?.dataOffsets.upperBound ?? 0
        if lastEnd != dataSize {
            throw SafeTensorsError.trailingBytes(lastEnd: lastEnd, dataSize: dataSize)
        }
        return tensors
    }

    private static func checkSize(_ entry: SafeTensorsHeader.Entry) throws -> TensorInfo {
        guard let expected = TensorInfo.checkedByteCount(entry.shape, entry.dtype) else {
            throw SafeTensorsError.invalidShape(entry.name, entry.shape)
        }
        let actual = entry.end - entry.begin
        guard actual == expected else {
            throw SafeTensorsError.sizeMismatch(
                entry.name, dtype: entry.dtype, shape: entry.shape, expected: expected, actual: actual)
        }
        return TensorInfo(
            name: entry.name, dtype: entry.dtype, shape: entry.shape, dataOffsets: entry.begin..<entry.end)
    }

    // Empty tensors share their begin offset with a neighbour, so ties are broken by end, then name.
    private static func precedes(_ lhs: TensorInfo, _ rhs: TensorInfo) -> Bool {
        if lhs.dataOffsets.lowerBound != rhs.dataOffsets.lowerBound {
            return lhs.dataOffsets.lowerBound < rhs.dataOffsets.lowerBound
        }
        if lhs.dataOffsets.upperBound != rhs.dataOffsets.upperBound {
            return lhs.dataOffsets.upperBound < rhs.dataOffsets.upperBound
        }
        return lhs.name < rhs.name
    }
}
