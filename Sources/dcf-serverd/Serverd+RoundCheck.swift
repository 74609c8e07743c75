// SPDX-License-Identifier: Apache-2.0
import DCFServer
import DCFSupport
import FedAvg

extension Serverd {
    /// Logs a warning when no round can ever close (see `roundsCannotClose(strategy:registry:)`), at start and
    /// after a reload. After an admin change the server logs the same warning itself, through the source that
    /// `init` sets.
    func warnIfRoundsCannotClose() {
        guard let warning = Self.roundsCannotClose(strategy: strategy, registry: service.server.registry) else { return }
        logger.warning(warning.message, warning.fields)
    }

    /// Returns a warning when no round can ever close: in safe mode, with no round deadline, `fedavg.update_lim`
    /// above the number of workers that may take part (keys from the list and from admins, not disabled).
    /// Without it, a federation smaller than the default `update_lim` of 10 waits at "1 of 10 updates" forever.
    /// It reads the admission mode from the registry, which a reload keeps in the same mode. It reads the limits
    /// from the running strategy, because a reload does not change them.
    static func roundsCannotClose(strategy: FedAvgStrategy, registry: WorkerRegistry) -> AdminWarning? {
        let running = strategy.configuration
        guard case .safe = registry.mode, running.roundDeadline == nil else { return nil }
        let eligible = registry.workers.filter { $0.status != .disabled }.count
        let limit = running.updateLimit
        guard limit > eligible else { return nil }
        return AdminWarning(
            "no round can close: fedavg.update_lim is above the number of workers that may send updates, and "
                + "fedavg.round_deadline is not set; lower update_lim, add worker keys, or set round_deadline",
            [("update_lim", String(limit)), ("workers", String(eligible))])
    }
}
