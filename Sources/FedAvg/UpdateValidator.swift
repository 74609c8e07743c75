// SPDX-License-Identifier: Apache-2.0

/// Checks an update against the global model before anything of it is folded, so a rejected update
/// leaves the round's sums untouched.
struct UpdateValidator {
    let globalLayouts: [TensorLayout]
    /// How many versions behind the current one an update's base version may be; 0 accepts only the
    /// current version. Accepted stale updates are weighted like fresh ones.
    let maxStaleness: UInt64

    /// - Parameter checkingValues: false leaves the scan for NaN and infinity to the caller, which can then
    ///   read the values from a file in blocks instead of through `update`.
    func validate(
        _ update: any ModelTensors, examples: Int, baseVersion: UInt64, currentVersion: UInt64,
        checkingValues: Bool = true
    ) throws(UpdateRejection) {
        guard baseVersion <= currentVersion, currentVersion - baseVersion <= maxStaleness else {
            throw .stale(base: baseVersion, current: currentVersion, maxStaleness: maxStaleness)
        }
        guard (1...maximumExampleCount).contains(examples) else { throw .exampleCount(examples) }
        guard update.layouts.count == globalLayouts.count else {
            throw .tensorCount(update: update.layouts.count, global: globalLayouts.count)
        }
        let updateLayouts = Dictionary(update.layouts.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for global in globalLayouts {
            guard let layout = updateLayouts[global.name] else { throw .missingTensor(global) }
            guard layout == global else { throw .layout(update: layout, global: global) }
        }
        for layout in globalLayouts where checkingValues && layout.kind.isFloatingPoint {
            let finite = update.withTensorBytes(named: layout.name) { ElementKernels.isFinite($0, kind: layout.kind) }
            guard finite else { throw .nonFinite(tensor: layout.name) }
        }
        for layout in globalLayouts where checkingValues && layout.kind == .float64 {
            let largest = update.withTensorBytes(named: layout.name) { ElementKernels.largestMagnitude(float64: $0) }
            guard largest <= FedAvgAccumulator.maximumFloat64Magnitude else { throw .outOfRange(tensor: layout.name) }
        }
    }
}
