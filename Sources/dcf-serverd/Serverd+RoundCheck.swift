// SPDX-License-Identifier: Apache-2.0
import DCFServer
import DCFSupport
import FedAvg

extension Serverd {
    /// Logs a warning when no round can ever close: in safe mode, with no round deadline, `fedavg.update_lim`
    /// above the number of workers that may take part (keys from the list and from admins, not disabled).
    /// Without it, a federation smaller than the default `update_lim` of 10 waits at "1 of 10 updates" forever.
    /// `settings` gives the admission mode; the limits are the running strategy's, which a reload leaves as they
    /// were.
    func warnIfRoundsCannotClose(_ settings: ServerdSettings) {
        let running = strategy.configuration
        guard case .safe = settings.server.admission, running.roundDeadline == nil else { return }
        let eligible = service.server.registry.workers.filter { $0.status != .disabled }.count
        let limit = running.updateLimit
        guard limit > eligible else { return }
        logger.warning(
            "no round can close: fedavg.update_lim is above the number of workers that may send updates, and "
                + "fedavg.round_deadline is not set; lower update_lim, add worker keys, or set round_deadline",
            [("update_lim", String(limit)), ("workers", String(eligible))])
    }
}
