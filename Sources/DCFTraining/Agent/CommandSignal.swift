// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Names of the signals that end a training command, for its error messages.
///
/// Debian's `/bin/sh -c` (dash) runs a program as its child unless the command starts it with `exec`, so a
/// program killed by a signal reaches the agent as the shell's exit status 128 + the signal's number.
enum CommandSignal {
    /// Names of the signals that commonly end a process on Linux, by number.
    static let names: [Int32: String] = [
        1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
        9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
        24: "SIGXCPU", 25: "SIGXFSZ",
    ]

    /// Returns the signal's number with its name, such as `9 (SIGKILL)`, or the number alone for another signal.
    static func describe(_ signal: Int32) -> String {
        names[signal].map { "\(signal) (\($0))" } ?? String(signal)
    }

    /// Returns a note for an exit status from 129 to 159, which the shell reports for a child that the signal
    /// status - 128 killed, or "" for any other status. A command may exit with such a status itself, so the
    /// note calls the signal probable.
    static func shellStatusNote(_ status: Int32) -> String {
        guard (129...159).contains(status) else { return "" }
        let signal = status - 128
        return ", probably because signal \(describe(signal)) killed it (the shell reports that as 128 + \(signal); "
            + "write exec before the program in trainer.command, as in \"exec python3 train.py\", so that the agent "
            + "sees the signal itself)" + senderHint(signal)
    }

    /// Returns a hint about who commonly sends `signal`, or "".
    static func senderHint(_ signal: Int32) -> String {
        guard signal == SIGKILL else { return "" }
        return ". The kernel's OOM killer is a common sender of SIGKILL: look for \"Out of memory\" in "
            + "journalctl -k or dmesg, and make the training use less memory"
    }
}
