// SPDX-License-Identifier: Apache-2.0
import DCFProtocol
import DCFSupport
import Foundation

/// The `dcfctl` subcommands and what each one sends to the admin API.
enum DcfctlCommands {
    private static let connection: [CommandOption] = [
        .value(
            "server", valueName: "url",
            help: "Server address, https://host:port (or http:// for a server run with plain_http); without a "
                + "port, 443 for https and 80 for http. Default: $DCF_SERVER_URL, else https://127.0.0.1:8443."),
        .value("ca-file", valueName: "file", help: "PEM file of CAs that signed the server certificate. Default: $DCF_CA_FILE, else the system store."),
        .value(
            "client-certificate", valueName: "file",
            help: "PEM file of a TLS client certificate chain, for a server with tls.client_ca set (mutual TLS); "
                + "needs --client-key. Default: $DCF_CLIENT_CERTIFICATE."),
        .value(
            "client-key", valueName: "file",
            help: "PEM file of the private key of --client-certificate. Default: $DCF_CLIENT_KEY."),
        .value(
            "credentials-file", valueName: "file",
            help: "File with one 'username:password' line; default: $DCF_SERVER_ADMIN_USERNAME and "
                + "$DCF_SERVER_ADMIN_PASSWORD."),
    ]
    private static let json = CommandOption.flag("json", help: "Print the server's JSON response instead of a table.")

    static let tool = CommandLineTool(
        name: "dcfctl", version: "0.1.0",
        summary: "Manage the workers of a running dcf-serverd through its admin API. A <worker-id> is a full "
            + "worker id or a prefix of at least 8 hex digits, such as the 8 that logs show, that starts the id or "
            + "public key of exactly one worker; a prefix that matches several exits 64. An unknown worker id or "
            + "a request the server rejects (an invalid key) exits 65.",
        subcommands: [
            Subcommand(name: "list", summary: "List the known workers and their status.", options: connection + [json]),
            Subcommand(
                name: "add", summary: "Allow a worker's Ed25519 public key (64 hex digits or a key file).",
                options: connection + [
                    .flag("register", help: "Register the worker at once instead of waiting for it to register.")
                ], argumentsUsage: "<public-key-hex|key-file>"),
            Subcommand(
                name: "remove", summary: "Remove a worker added with dcfctl add; it must be added again to rejoin. A worker from the key list is removed by editing the list and reloading the server, or disabled.", options: connection,
                argumentsUsage: "<worker-id>"),
            Subcommand(
                name: "enable", summary: "Register a known worker so its updates count.", options: connection,
                argumentsUsage: "<worker-id>"),
            Subcommand(
                name: "disable", summary: "Unregister a worker without forgetting its key.", options: connection,
                argumentsUsage: "<worker-id>"),
            Subcommand(
                name: "status", summary: "Show the model version, worker counts and the open round.",
                options: connection + [json]),
        ],
        exitStatus: "Exit status: 0 success; 1 the reply is not the admin API's (check --server); 64 invalid command "
            + "line or missing credentials; 65 unknown worker id or prefix, request rejected by the server, or a "
            + "malformed key or credentials file; 66 a file named on the command line or by a variable does not "
            + "exist or is not readable, a CA file holds no certificate, or a client key does not match its "
            + "certificate; 69 server unreachable, its certificate not trusted, or the server failed "
            + "the request; 77 wrong credentials, admin API off, or this address blocked.")

    /// Runs `command` against the server and returns the text to print.
    static func run(_ command: ParsedCommand, client: AdminClient) throws -> String {
        switch command.subcommand.name {
        case "list":
            let body = try client.send("GET", DCFRoute.adminWorkersPath)
            if command.flag("json") { return String(decoding: body, as: UTF8.self) + "\n" }
            return DcfctlOutput.workerTable(try decode([AdminWorkerEntry].self, body, from: client))
        case "status":
            let body = try client.send("GET", DCFRoute.adminStatusPath)
            if command.flag("json") { return String(decoding: body, as: UTF8.self) + "\n" }
            return DcfctlOutput.status(try decode(AdminStatusResponse.self, body, from: client))
        case "add":
            let key = try publicKey(try singleArgument(command, "<public-key-hex|key-file>"))
            let request = AdminAddWorkerRequest(publicKey: key, registered: command.flag("register"))
            let added = try change(client, "POST", DCFRoute.adminWorkersPath, request)
            let warnings = DcfctlOutput.warnings(added.warnings)
            guard !added.registered else { return "added worker \(added.workerID), registered\n" + warnings }
            return "added worker \(added.workerID) as allowed: its agent registers when it connects, "
                + "or \"dcfctl enable \(added.workerID.short)\" registers it now\n" + warnings
        case "remove":
            let id = try resolvedWorkerID(command, client: client)
            let removed = try change(
                client, "DELETE", DCFRoute.adminWorkersPath + "/" + id, nil as AdminSetRegistrationRequest?)
            return "removed worker \(id)\n" + DcfctlOutput.warnings(removed.warnings)
        case "enable", "disable":
            let id = try resolvedWorkerID(command, client: client)
            let request = AdminSetRegistrationRequest(registered: command.subcommand.name == "enable")
            let changed = try change(client, "PUT", DCFRoute.adminWorkersPath + "/" + id, request)
            return "\(command.subcommand.name)d worker \(id)\n" + DcfctlOutput.warnings(changed.warnings)
        default:
            throw DcfctlError.usage("unknown command \"\(command.subcommand.name)\"")
        }
    }

    private static func change(
        _ client: AdminClient, _ method: String, _ path: String, _ message: (some Encodable)?
    ) throws -> AdminWorkerResult {
        let body = try message.map { try JSONEncoder().encode($0) }
        return try decode(AdminWorkerResult.self, try client.send(method, path, json: body), from: client)
    }

    private static func decode<Message: Decodable>(
        _ type: Message.Type, _ body: Data, from client: AdminClient
    ) throws -> Message {
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch {
            throw DcfctlError(
                "the server's response is not a valid \(type) message: \(error); "
                    + "\(client.checkHint(client.serverSource)), which must be the address of a dcf-serverd",
                exitCode: .failure)
        }
    }

    private static func singleArgument(_ command: ParsedCommand, _ usage: String) throws -> String {
        guard command.arguments.count == 1 else {
            throw DcfctlError.usage(
                "dcfctl \(command.subcommand.name) takes exactly one \(usage), got \(command.arguments.count) "
                    + "arguments; run \"dcfctl help \(command.subcommand.name)\"")
        }
        return command.arguments[0]
    }

    /// Returns the id of the worker that the argument of `command` selects, by a full id or a unique prefix of
    /// an id or public key (see `WorkerIDPrefix`), from the server's worker list.
    private static func resolvedWorkerID(_ command: ParsedCommand, client: AdminClient) throws -> String {
        let argument = try workerID(command)
        let body = try client.send("GET", DCFRoute.adminWorkersPath)
        let workers = try decode([AdminWorkerEntry].self, body, from: client)
        return try WorkerIDPrefix.resolve(argument, among: workers).rawValue
    }

    private static func workerID(_ command: ParsedCommand) throws -> String {
        let text = try singleArgument(command, "<worker-id>")
        guard WorkerID(text) != nil else {
            throw DcfctlError.usage(
                "worker id \"\(text)\" is not 8 to 128 hex digits; \"dcfctl list\" shows the ids")
        }
        return text
    }

    /// Returns a 64-digit hex key given directly or as the path of a key file holding one.
    ///
    /// - Throws: a usage error (64) for hex digits of another count, an input error (66) for any other argument
    ///   that names no existing file, and a data error (65) for a file that contains no public key.
    static func publicKey(_ argument: String) throws -> String {
        if isHexKey(argument) { return argument.lowercased() }
        guard FileManager.default.fileExists(atPath: argument) else {
            if !argument.isEmpty, argument.allSatisfy(\.isHexDigit) {
                throw DcfctlError.usage(
                    "\"\(argument)\" has \(argument.count) hex digits, and a public key has 64; pass the whole key "
                        + "or its .pub file")
            }
            throw DcfctlError.input(
                "key file \"\(argument)\" does not exist; pass the worker's .pub file or its 64-digit hex public key")
        }
        // Private and public key files both hold 64 hex digits; a .pub file beside this one marks it as private.
        if !argument.hasSuffix(".pub"), FileManager.default.fileExists(atPath: argument + ".pub") {
            throw DcfctlError.invalidData(
                "\"\(argument)\" is a private key file (\(argument).pub sits beside it); pass \(argument).pub, "
                    + "and keep private keys on the sites")
        }
        // With no .pub beside it, the mode decides, because dcf-agent keygen writes private keys owner-only (0600).
        if !argument.hasSuffix(".pub"),
            let mode = (try? FileManager.default.attributesOfItem(atPath: argument))?[.posixPermissions] as? Int,
            mode & 0o077 == 0
        {
            throw DcfctlError.invalidData(
                "\"\(argument)\" looks like a private key file (mode \(String(mode, radix: 8)), readable by its owner "
                    + "only); pass the public key file, or its 64 hex digits, and keep private keys on the sites")
        }
        guard let text = try? String(contentsOfFile: argument, encoding: .utf8) else {
            throw DcfctlError.input("key file \"\(argument)\" is not readable")
        }
        let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard isHexKey(key) else {
            throw DcfctlError.invalidData(
                "key file \"\(argument)\" does not hold one 64-digit hex public key; pass the public key file "
                    + "(the .pub file), not the private key")
        }
        return key.lowercased()
    }

    private static func isHexKey(_ text: String) -> Bool {
        text.utf8.count == 64 && text.allSatisfy(\.isHexDigit)
    }
}
