// SPDX-License-Identifier: Apache-2.0
import DCFSupport
import DCFTransport

/// Every setting of `dcf-serverd`: the config file keys, their command-line flags and help.
enum ServerdSchema {
    static let schema = ConfigSchema(
        server + tls + workers + admin + state + fedavg + limits + log,
        sectionHelp: [
            "server": "Listening socket and event loops.",
            "tls": "Server certificate and optional mutual TLS.",
            "workers": "Which worker keys may register.",
            "admin": "Credentials of the admin API.",
            "state": "Where the registry, model versions and round history live.",
            "fedavg": "The FedAvg strategy.",
            "limits": "Request limits and timeouts.",
            "log": "Logging.",
        ])

    private static let server = [
        ConfigOption(
            "server", "listen", type: .string, default: .string("0.0.0.0:8443"), flag: "listen",
            help: "IP address and port to listen on, as address:port; [::]:port listens on IPv6. Host names are "
                + "not resolved."),
        ConfigOption(
            "server", "plain_http", type: .boolean, default: .boolean(false), flag: "plain-http",
            help: "Serve plain HTTP without TLS, for a TLS-terminating proxy in front or for local tests only."),
        ConfigOption(
            "server", "event_loops", type: .integer(0...256), default: .integer(0), unit: "threads",
            help: "Number of event-loop threads; 0 uses one per CPU core."),
    ]

    private static let tls = [
        ConfigOption(
            "tls", "certificate", type: .string, default: nil, flag: "tls-certificate",
            help: "PEM file with the server certificate chain, leaf first."),
        ConfigOption(
            "tls", "private_key", type: .string, default: nil, flag: "tls-key",
            help: "PEM file with the server's private key."),
        ConfigOption(
            "tls", "client_ca", type: .string, default: nil, flag: "tls-client-ca",
            help: "PEM file of CAs for client certificates; setting it turns on mutual TLS."),
        ConfigOption(
            "tls", "require_client_certificate", type: .boolean, default: .boolean(true),
            help: "With client_ca set: reject clients without a certificate (false makes it optional)."),
        ConfigOption(
            "tls", "record_layer", type: .choice(TLSConfiguration.RecordLayer.allCases.map(\.rawValue)),
            default: .string("dcf"),
            help: "Code that seals and opens records after a TLS 1.3 handshake: dcf's own, which copies each byte "
                + "once less, or openssl. The handshake and the ciphers are OpenSSL's either way."),
    ]

    private static let workers = [
        ConfigOption(
            "workers", "key_list", type: .string, default: nil, flag: "worker-keys",
            help: "File of allowed worker public keys, one 64-digit hex key per line (safe mode)."),
        ConfigOption(
            "workers", "unsafe_mode", type: .boolean, default: .boolean(false), flag: "unsafe-mode",
            help: "Admit any worker key without a key list; every registration adds a worker, up to "
                + "limits.max_workers. Never use it on a reachable network."),
    ]

    private static let admin = [
        ConfigOption(
            "admin", "credentials_file", type: .string, default: nil, flag: "admin-credentials",
            help: "File holding 'username:password' for the admin API. When it is unset, DCF_SERVER_ADMIN_USERNAME "
                + "and DCF_SERVER_ADMIN_PASSWORD give the credentials. When it is set, the server's environment must "
                + "not have them (the start fails with status 78). No credentials disable the admin API."),
    ]

    private static let state = [
        ConfigOption(
            "state", "directory", type: .string, default: .string("/var/lib/dcf"), flag: "state-dir",
            help: "Directory for the worker registry, model versions, the open round and the history."),
        ConfigOption(
            "state", "spool_reuse_limit", type: .byteCount(0...(1 << 50)), default: .byteCount(16 << 30),
            help: "Disk space that the update files of aggregated rounds may keep for later uploads to overwrite. "
                + "Overwriting a file whose pages are still cached costs less CPU than writing a new one; the "
                + "space stays taken between rounds. 0 empties the kept files."),
    ]

    private static let fedavg = [
        ConfigOption(
            "fedavg", "initial_model", type: .string, default: nil, flag: "initial-model",
            help: "safetensors file stored as version 1 when the state directory holds no model yet."),
        ConfigOption(
            "fedavg", "update_lim", type: .integer(1...1_000_000), default: .integer(10), unit: "updates",
            flag: "update-lim", help: "Aggregate as soon as this many distinct workers have sent an update."),
        ConfigOption(
            "fedavg", "min_updates", type: .integer(1...1_000_000), default: .integer(1), unit: "updates",
            flag: "min-updates", help: "After round_deadline, aggregate if at least this many updates arrived."),
        ConfigOption(
            "fedavg", "round_deadline", type: .duration(.zero...Duration.seconds(86_400 * 30)), default: .duration(.zero),
            flag: "round-deadline", help: "How long a round waits for update_lim updates; 0s waits forever."),
        ConfigOption(
            "fedavg", "max_staleness", type: .integer(0...1_000_000), default: .integer(0), unit: "versions",
            flag: "max-staleness",
            help: "Accept updates trained from up to this many versions before the current one; 0 accepts "
                + "only the current version."),
        ConfigOption(
            "fedavg", "keep_versions", type: .integer(0...1_000_000), default: .integer(0), unit: "versions",
            flag: "keep-versions",
            help: "Keep this many of the newest model versions on disk and delete older ones after each round; "
                + "0 keeps every version."),
    ]

    private static let limits = [
        ConfigOption(
            "limits", "max_connections", type: .integer(1...1_000_000), default: .integer(10_000), unit: "connections",
            help: "Open connections at most; more are answered 503 and closed."),
        ConfigOption(
            "limits", "max_connections_per_address", type: .integer(0...1_000_000), default: .integer(256),
            unit: "connections",
            help: "Open connections at most from one client address, counting IPv6 addresses by their /64 "
                + "network; more are closed at once without a response. A connection that sends nothing keeps its "
                + "place until first_byte_timeout (idle_timeout for plain HTTP), so without this limit one "
                + "address that keeps opening connections can take every place under max_connections. A site's "
                + "agent keeps one or two connections, so 256 leaves room for more than 100 sites behind one NAT "
                + "address. Behind a TLS-terminating proxy every client has the proxy's address, so raise it to "
                + "max_connections there. 0 turns the limit off."),
        ConfigOption(
            "limits", "max_connections_per_network", type: .integer(0...1_000_000), default: .integer(1024),
            unit: "connections",
            help: "Open connections at most from one client network, an IPv4 /24 or an IPv6 /48; more are closed "
                + "at once without a response. IPv4-mapped and NAT64 addresses count in their IPv4 /24, and a "
                + "link-local address counts on its own. A client with many addresses or a wide IPv6 prefix gets "
                + "max_connections_per_address from each address or /64, so this limit bounds its total. A site's "
                + "agent keeps one or two connections, so 1024 leaves room for several hundred sites in one "
                + "provider network. Behind a TLS-terminating proxy, raise it to max_connections as well. 0 turns "
                + "the limit off."),
        ConfigOption(
            "limits", "max_workers", type: .integer(1...10_000_000), default: .integer(100_000), unit: "workers",
            help: "Maximum number of workers in the registry in unsafe mode, where every registration adds one. "
                + "Further registrations get 503 until an admin removes workers. Admin adds and key lists may pass "
                + "it."),
        ConfigOption(
            "limits", "max_header_bytes", type: .byteCount(1024...(1 << 20)), default: .byteCount(16 * 1024),
            help: "Size of a request's head (request line and headers), and of a chunked body's trailer section; "
                + "larger gets 431."),
        ConfigOption(
            "limits", "max_header_count", type: .integer(1...10_000), default: .integer(100), unit: "headers",
            help: "Number of header fields; more gets 431."),
        ConfigOption(
            "limits", "max_url_bytes", type: .byteCount(256...(1 << 20)), default: .byteCount(8 * 1024),
            help: "Length of the request target; longer gets 414."),
        ConfigOption(
            "limits", "max_update_bytes", type: .byteCount(1024...(1 << 40)), default: .byteCount(1 << 30),
            help: "Size of an update body as sent; larger gets 413."),
        ConfigOption(
            "limits", "max_inflated_update_bytes", type: .byteCount(1024...(1 << 40)), default: .byteCount(2 << 30),
            help: "Size of a compressed update after inflating; larger gets 413."),
        ConfigOption(
            "limits", "max_concurrent_uploads", type: .integer(1...100_000), default: .integer(64), unit: "uploads",
            help: "Update bodies received at once. Later uploads wait in arrival order, and their workers hold the "
                + "body until the server sends 100 Continue, so the kernel's TCP memory stays bounded however many "
                + "workers upload at once."),
        ConfigOption(
            "limits", "min_upload_rate", type: .byteCount(0...(1 << 30)), default: .byteCount(64 * 1024),
            help: "While uploads wait for a place, an admitted update body slower than this many bytes per second "
                + "over 30 s is rejected with 503 and its place goes to the next upload, so slow or stalling "
                + "workers cannot hold every place. A body whose bytes wait unread in the server keeps its place, "
                + "because then the server is behind, not the worker. Write the rate as a size without /s, such as "
                + "64KiB. 0 turns the check off."),
        ConfigOption(
            "limits", "max_control_bytes", type: .byteCount(256...(16 << 20)), default: .byteCount(64 * 1024),
            help: "Size of a JSON request body; larger gets 413."),
        ConfigOption(
            "limits", "receive_buffer", type: .byteCount((64 << 10)...(64 << 20)), default: nil,
            help: "Kernel receive buffer of each connection; unset leaves its size to the kernel. With hundreds of "
                + "workers uploading at once, 256 KiB keeps their buffers from using up the kernel's TCP memory, "
                + "which drops packets and stalls uploads for seconds. It also limits one upload to about this much "
                + "per round trip. The kernel caps it at net.core.rmem_max (208 KiB on a default Debian)."),
        ConfigOption(
            "limits", "handshake_timeout", type: .duration(.milliseconds(100)...Duration.seconds(600)),
            default: .duration(.seconds(60)),
            help: "Time allowed for the TLS handshake; long enough for every site reconnecting at once."),
        ConfigOption(
            "limits", "first_byte_timeout", type: .duration(.milliseconds(100)...Duration.seconds(600)),
            default: .duration(.seconds(10)),
            help: "Time a new TLS connection may take to send its first byte; then it closes without a response. "
                + "Bytes that arrived but that the server has not read yet count as sent, so a busy server keeps "
                + "the clients it fell behind on. An idle socket keeps its place under max_connections for this "
                + "long rather than for all of handshake_timeout, which counts from the same moment. A value "
                + "above handshake_timeout has no effect. Plain HTTP connections wait under idle_timeout instead."),
        ConfigOption(
            "limits", "header_timeout", type: .duration(.milliseconds(100)...Duration.seconds(600)),
            default: .duration(.seconds(15)), help: "Time allowed to send a request head; slower gets 408."),
        ConfigOption(
            "limits", "body_timeout", type: .duration(.milliseconds(100)...Duration.seconds(3600)),
            default: .duration(.seconds(30)), help: "Time allowed between two reads of a request body; slower gets 408."),
        ConfigOption(
            "limits", "min_body_rate", type: .byteCount(0...(1 << 30)), default: .byteCount(500),
            help: "Average rate a request body must keep, in bytes per second: a body gets body_timeout plus one "
                + "second per this many bytes received, not counting time the server held it back; slower gets 408. "
                + "0 turns the check off."),
        ConfigOption(
            "limits", "write_timeout", type: .duration(.seconds(1)...Duration.seconds(3600)),
            default: .duration(.seconds(60)),
            help: "Time a response may make no progress because the client does not read; then the connection "
                + "closes."),
        ConfigOption(
            "limits", "idle_timeout", type: .duration(.seconds(1)...Duration.seconds(3600)),
            default: .duration(.seconds(75)), help: "Idle keep-alive connections are closed after this time."),
        ConfigOption(
            "limits", "long_poll_hold", type: .duration(.seconds(1)...Duration.seconds(600)),
            default: .duration(.seconds(50)),
            help: "How long a model-wait request is held before it returns 'no change'; keep it under the "
                + "idle timeout of proxies between agents and the server."),
    ]

    private static let log = [
        ConfigOption(
            "log", "level", type: .choice(LogLevel.allCases.map(\.description)), default: .string("info"),
            flag: "log-level", help: "Lowest level written to standard error."),
    ]
}
