package io.sluice.server.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;

/**
 * Every setting of the broker in one place: a default, a flag {@code --name value} (or {@code --name=value}),
 * and the same name as a key in the {@code --config FILE} (Java properties format). Flags override the file.
 * Declaring a setting here is all it takes for it to appear in {@code --help}.
 */
public final class Settings {
    private static final Map<String, Setting<?>> ALL = new LinkedHashMap<>();

    // ---- listeners
    public static final Setting<String> BIND = string("bind", "", "address every listener binds to (empty: 127.0.0.1 while no authentication is configured, 0.0.0.0 once it is); a non-loopback address with no authentication needs --allow-anonymous true");
    public static final Setting<Integer> MQTT_PORT = port("mqtt-port", 1883, "MQTT over TCP port (0: ephemeral, -1: off)");
    public static final Setting<Integer> HTTP_PORT = port("http-port", 8083, "HTTP port: MQTT and STOMP over WebSocket, SSE (/sse), long-poll (/poll), publish (/publish), /metrics, /healthz (0: ephemeral, -1: off)");
    public static final Setting<Path> CONFIG = setting("config", null, "read settings from this properties file", Path::of);
    public static final Setting<String> LOG_LEVEL = choice("log-level", "info", List.of("error", "warn", "info", "debug", "trace"), "log level");

    // ---- security
    public static final Setting<Boolean> ALLOW_ANONYMOUS = bool("allow-anonymous", false, "let clients without credentials connect: always true on a loopback-only broker with no authentication configured; the explicit opt-in for a non-loopback --bind without authentication");

    public static final Setting<Integer> MAX_PUBLISH_RATE = range("max-publish-rate", 0, 0, Integer.MAX_VALUE, "messages per second one client may publish (MQTT PUBLISH, STOMP SEND); faster, its reads pause until it is back under the rate: backpressure, nothing dropped (0: no limit)");
    public static final Setting<Long> MAX_PUBLISH_BANDWIDTH = bytes("max-publish-bandwidth", 0L, "payload bytes per second one client may publish; more, its reads pause as for --max-publish-rate (0: no limit)");
    public static final Setting<Path> PASSWORD_FILE = setting("password-file", null, "authenticate user names and passwords (STOMP login/passcode) against this file in Mosquitto's mosquitto_passwd format; reloaded on change", Path::of);
    public static final Setting<Integer> MQTTS_PORT = port("mqtts-port", 8883, "MQTT over TLS port, on once a certificate is configured (0: ephemeral, -1: off)");
    public static final Setting<Integer> HTTPS_PORT = port("https-port", 8084, "HTTPS + WSS port (MQTT, STOMP and the HTTP endpoints over TLS), on once a certificate is configured (0: ephemeral, -1: off)");
    public static final Setting<Path> TLS_CERT_FILE = setting("tls-cert-file", null, "the server's certificate chain, PEM (with --tls-key-file); switches the TLS listeners on; reloaded on change or SIGHUP, open connections keep theirs", Path::of);
    public static final Setting<Path> TLS_KEY_FILE = setting("tls-key-file", null, "the private key of --tls-cert-file, PEM (PKCS#8)", Path::of);
    public static final Setting<Path> TLS_KEYSTORE = setting("tls-keystore", null, "the server's key and chain as a PKCS#12 file, instead of --tls-cert-file and --tls-key-file", Path::of);
    public static final Setting<String> TLS_KEYSTORE_PASSWORD = string("tls-keystore-password", "", "the password of --tls-keystore");
    public static final Setting<List<String>> TLS_PROTOCOLS = list("tls-protocols", "TLS versions offered (comma separated; default TLSv1.3,TLSv1.2)");
    public static final Setting<String> TLS_CLIENT_AUTH = choice("tls-client-auth", "none", List.of("none", "want", "need"), "ask TLS clients for a certificate signed by --tls-ca-file: not at all, if they have one, or always (refusing those without)");
    public static final Setting<Path> TLS_CA_FILE = setting("tls-ca-file", null, "PEM bundle of the certificate authorities client certificates must chain to", Path::of);
    public static final Setting<String> TLS_CERT_USERNAME = choice("tls-cert-username", "none", List.of("none", "cn", "san"), "log a client with a verified certificate in under its subject's CN or first SAN (DNS, e-mail or URI), as Mosquitto's use_identity_as_username; with --tls-client-auth need this counts as authentication");
    public static final Setting<Path> JWT_KEY_FILE = setting("jwt-key-file", null, "accept JSON Web Tokens (HS256/RS256/ES256) as the MQTT password, STOMP passcode, ?token= or Authorization: Bearer, verified with the key in this file: a JWKS or JWK (JSON), a PEM public key or certificate, or an HMAC secret of 32+ bytes; reloaded on change", Path::of);
    public static final Setting<String> JWT_ISSUER = string("jwt-issuer", "", "the iss claim every token must carry (empty: not checked)");
    public static final Setting<String> JWT_AUDIENCE = string("jwt-audience", "", "an aud value every token must carry (empty: not checked)");
    public static final Setting<String> JWT_USER_CLAIM = string("jwt-user-claim", "sub", "the claim that names the user a token logs in (for ACL user sections, %u, audit)");
    public static final Setting<Path> ACL_FILE = setting("acl-file", null, "topic rules in Mosquitto's acl_file format for publish, subscribe and delivery, every protocol alike; reloaded on change (applies to new logins)", Path::of);
    public static final Setting<List<String>> ALLOWED_ORIGINS = list("allowed-origins", "browser origins (comma separated, e.g. https://app.example.com; * for any) allowed to open WebSockets and call the HTTP endpoints (SSE, long-poll, publish, admin), which then answer them with CORS headers; any other Origin gets 403 (empty: every origin, no CORS headers)");
    public static final Setting<List<String>> SYS_READERS = list("sys-readers", "users (comma separated) who may read $SYS topics once authentication is configured");
    public static final Setting<Integer> AUDIT_RATE = range("audit-rate", 20, 1, 1_000_000, "most audit log lines (refused logins, denials) written per second; more are counted and summarised");
    public static final Setting<Long> SECURITY_RELOAD_INTERVAL = millis("security-reload-interval", 5_000, "how often password, ACL, key and certificate files are checked for changes (0: only on SIGHUP)");

    // ---- transport (HTTP, WebSocket)
    public static final Setting<Integer> HTTP_MAX_HEADER_SIZE = bytes32("http-max-header-size", 8 * 1024, "largest HTTP request header block (WebSocket upgrade included); larger: 431");
    public static final Setting<Integer> HTTP_MAX_CONTENT_LENGTH = bytes32("http-max-content-length", 64 * 1024, "largest HTTP request body; larger: 413");
    public static final Setting<Integer> WS_MAX_FRAME_SIZE = bytes32("ws-max-frame-size", 2 * 1024 * 1024, "largest WebSocket frame payload; larger: close 1009");
    public static final Setting<Long> WS_PING_INTERVAL = millis("ws-ping-interval", 30_000, "interval of the server's WebSocket Ping frames to STOMP and not yet identified WebSockets; MQTT uses its own keep-alive (0: none)");
    public static final Setting<Long> WS_IDLE_TIMEOUT = millis("ws-idle-timeout", 90_000, "close a WebSocket (not MQTT: its keep-alive rules) that sent nothing, not even a Pong, for this long (0: never)");
    public static final Setting<Long> HANDSHAKE_TIMEOUT = millis("handshake-timeout", 10_000, "close a connection that has not completed its WebSocket upgrade and named its protocol (on TCP: sent its first bytes; on a keep-alive HTTP connection: sent its next request) within this time");
    public static final Setting<Boolean> NATIVE_TRANSPORT = bool("native-transport", true, "serve sockets with Linux epoll where Netty's native library loads; false: Java NIO, which starts faster (no native library to unpack and load) and is what an embedded broker uses");
    public static final Setting<Integer> IO_THREADS = range("io-threads", 0, 0, 1024, "event-loop threads serving connections (0: one per CPU core)");
    public static final Setting<Integer> IO_COALESCE = range("io-coalesce", 300, 0, 10_000, "microseconds an event loop woken soon after it went to sleep naps before it waits again, so one wake-up serves the packets and hand-overs that came meanwhile: less CPU per message at steady rates, at most about this much latency per loop a message passes, only while busy and while each nap gathers several messages (a client in lockstep, one message per round trip, is not held back) (0: wake for each)");
    public static final Setting<Integer> WS_SNIFF_LIMIT = bytes32("ws-sniff-limit", 4 * 1024, "bytes read from a WebSocket that named no subprotocol and no protocol path while recognising its protocol");
    public static final Setting<Boolean> WS_COMPRESSION = bool("ws-compression", true, "negotiate permessage-deflate (RFC 7692) with WebSocket clients that offer it (browsers do)");
    public static final Setting<Integer> WS_COMPRESSION_MIN_SIZE = bytes32("ws-compression-min-size", 256, "smallest outgoing WebSocket message worth compressing; smaller ones go out as they are");
    public static final Setting<Integer> WS_COMPRESSION_LEVEL = range("ws-compression-level", 6, 1, 9, "deflate level of outgoing WebSocket messages (1: fastest, 9: smallest)");
    public static final Setting<Boolean> WS_COMPRESSION_CONTEXT_TAKEOVER = bool("ws-compression-context-takeover", true, "keep a WebSocket's compressing context between messages (better ratio on repeated content, ~270 KB per connection, bounded by ws-compression-memory); false: every WebSocket gets server_no_context_takeover");
    public static final Setting<Integer> WS_COMPRESSION_CLIENT_WINDOW_BITS = range("ws-compression-client-window-bits", 15, 8, 15, "client_max_window_bits answered to a client that offers to limit its deflate window (the server's own window is zlib's 15 bits)");
    public static final Setting<Long> WS_COMPRESSION_MEMORY = bytes("ws-compression-memory", 256L * 1024 * 1024, "memory all WebSocket deflate contexts kept between messages may use together (measured: ~270 KB to compress, ~50 KB to inflate); past it new WebSockets compress without server context takeover, and past that uncompressed");

    // ---- broker core
    public static final Setting<Integer> MAX_QUEUED_MESSAGES = positive("max-queued-messages", 1000, "QoS 1/2 messages queued per subscriber beyond its in-flight window");
    public static final Setting<Long> MAX_QUEUED_BYTES = bytes("max-queued-bytes", 16L * 1024 * 1024, "bytes of QoS 1/2 messages queued per subscriber");
    public static final Setting<Integer> LIVE_QUEUE_WINDOWS = range("live-queue-windows", 4, 0, 65_535, "a connected subscriber's QoS 1/2 queue holds its publishers (acknowledgement withheld, reading paused) once it holds this many of its in-flight windows, at most --max-queued-messages; they resume when it is half empty. A short queue keeps a live subscriber's latency to a few windows; an offline session still queues up to --max-queued-messages (0: --max-queued-messages for connected subscribers too)");
    public static final Setting<Integer> INFLIGHT_WINDOW = range("inflight-window", 32, 1, 65_535, "in-flight QoS 1/2 messages per subscriber when the client states no Receive Maximum (MQTT 3.1.1, STOMP)");
    public static final Setting<Integer> MAX_QOS0_QUEUED = positive("max-qos0-queued", 1000, "QoS 0 messages buffered per subscriber that cannot keep up (its connection is not writable) before the oldest is dropped; while it is writable, up to 16 times as many wait for the next drain");
    public static final Setting<List<String>> CONFLATE_FILTERS = list("conflate-filters", "topic filters (comma separated) whose QoS 0 messages keep only the latest value per topic");
    public static final Setting<String> OFFLINE_QUEUE_FULL = choice("offline-queue-full", "drop", List.of("drop", "withhold"), "QoS 1/2 publish meeting an offline session's full queue: drop it for that session alone (counted per session, logged once per episode, told to the session when it returns), or (closed systems) withhold the publisher's acknowledgement until the session makes room, for at most --offline-withhold-timeout, refusing MQTT 5 publishers with 0x97");
    public static final Setting<Long> OFFLINE_WITHHOLD_TIMEOUT = millis("offline-withhold-timeout", 30_000L, "with --offline-queue-full withhold, the longest a publish is held for an offline session's full queue; then it is dropped for that session and the publisher acknowledged");
    /** Sized for the machine: the heap this JVM may use. */
    private static final long HEAP = Runtime.getRuntime().maxMemory();
    public static final Setting<Integer> MAX_SESSIONS = positive("max-sessions", (int) Math.min(1_000_000, Math.max(10_000, HEAP / (32 * 1024))), "broker sessions (connected or persisted MQTT clients, STOMP subscriptions and queues); a new one past it is refused (MQTT 5 CONNACK 0x97, 3.1.1 return code 3, STOMP ERROR); default: one per 32 KB of heap, at least 10,000");
    public static final Setting<Long> MAX_TOTAL_QUEUED_BYTES = bytes("max-total-queued-bytes", HEAP / 4, "bytes of QoS 1/2 messages queued across every session; past it, messages for offline sessions are dropped for them (counted); default: a quarter of the heap");
    public static final Setting<Integer> MAX_RETAINED_MESSAGES = positive("max-retained-messages", 100_000, "retained topics; a new one past it is not kept (MQTT 5 QoS 1/2 publish refused with 0x97; otherwise delivered, not retained; counted)");
    public static final Setting<Long> MAX_RETAINED_BYTES = bytes("max-retained-bytes", HEAP / 8, "bytes of retained messages (payload and topic); a new or larger one past it is not kept, as for --max-retained-messages; default: an eighth of the heap");
    public static final Setting<Integer> MAX_HELD_INBOUND = range("max-held-inbound", 16, 1, 1024, "packets or frames a publisher's connection holds, read but not yet processed, while one of its publishes waits for room; then the server stops reading its socket (memory per held publisher: this times --max-packet-size)");
    public static final Setting<Long> STUCK_CONSUMER_TIMEOUT = millis("stuck-consumer-timeout", 60_000L, "disconnect a subscriber whose in-flight window stays full this long with no acknowledgement (0: never)");
    public static final Setting<Long> MATCH_CACHE_SIZE = bytes("match-cache-size", 65_536L, "entries in the topic match cache");

    // ---- persistence
    public static final Setting<String> PERSISTENCE = choice("persistence", System.getProperty("sluice.persistence", "rocksdb"), List.of("rocksdb", "none"), "where retained messages, persistent sessions, their queues and delayed wills live: rocksdb (in --data-dir, survives restarts, crashes and kill -9) or none (memory only, for tests and embedding; the JVM property sluice.persistence sets the default)");
    public static final Setting<Path> DATA_DIR = setting("data-dir", Path.of("sluice-data"), "directory of the message store, created on first start; one broker process per directory", Path::of);
    public static final Setting<Integer> STORE_LINGER_MICROS = range("store-linger-micros", 500, 0, 100_000, "microseconds a busy store writer (its last group commit held 64 operations or more) lets writes gather, from when it took its last group commit, before its next one: a connected subscriber's acknowledgement arriving meanwhile cancels its queue entry's write; the acknowledgements waiting for that commit wait as long (0: never linger)");
    public static final Setting<String> FSYNC = choice("fsync", "never", List.of("never", "batch"), "never: a write reaches the operating system before it is acknowledged (survives a crash or kill -9 of the broker, not a power loss); batch: one fsync per group commit before acknowledging (survives power loss, slower)");

    // ---- cluster on NATS JetStream (docs/cluster.md)
    public static final Setting<List<String>> CLUSTER_NATS = list("cluster-nats", "NATS servers (comma separated nats:// or tls:// URLs, JetStream on) that join this broker to a cluster of Sluice nodes (empty: no cluster); credentials go in --cluster-user/--cluster-password or --cluster-creds-file, not in the URLs, which are shown in logs and the admin API without them");
    public static final Setting<String> NODE_ID = string("node-id", "", "this node's name in the cluster: letters, digits, '-' and '_' (empty: a stable id kept in --data-dir, or a new one each run with --persistence none)");
    public static final Setting<String> CLUSTER_USER = string("cluster-user", "", "user name for the NATS servers (with --cluster-password)");
    public static final Setting<String> CLUSTER_PASSWORD = string("cluster-password", "", "password for the NATS servers");
    public static final Setting<Path> CLUSTER_CREDS_FILE = setting("cluster-creds-file", null, "a NATS .creds file (user JWT and NKey seed) to log in to the NATS servers with", Path::of);
    public static final Setting<Path> CLUSTER_TLS_CA_FILE = setting("cluster-tls-ca-file", null, "PEM certificate authorities the NATS servers' certificates must chain to; switches the NATS connection to TLS", Path::of);
    public static final Setting<Integer> CLUSTER_REPLICAS = range("cluster-replicas", 1, 1, 5, "JetStream replicas of the stream and key-value buckets the cluster creates (3 on a three-server NATS cluster)");
    public static final Setting<Integer> CLUSTER_MAX_ACK_PENDING = range("cluster-max-ack-pending", 1000, 1, 1_000_000, "QoS 1/2 messages from other nodes handed to this node and not yet in its subscribers' queues (JetStream messages: a batch, see --cluster-batch, counts once); past it JetStream keeps them");
    public static final Setting<Integer> CLUSTER_MAX_PENDING = range("cluster-max-pending", 10_000, 1, 100_000_000, "QoS 1/2 messages JetStream keeps for one node that has not taken them yet (JetStream messages: a batch, see --cluster-batch, counts once); past it publishers on other nodes wait (their acknowledgement withheld)");
    public static final Setting<Integer> CLUSTER_SEND_WINDOW = range("cluster-send-window", 1000, 0, 100_000_000, "QoS 1/2 messages this node sends another node ahead of that node's report that it has taken them into its subscribers' queues; past it publishers here wait, without JetStream refusing anything (lowered at run time so that the windows of all the nodes sending to one stay under half of --cluster-max-pending; 0: no window, JetStream's per-node bound alone holds publishers; only with --cluster-replicas 1, as nats-server 2.9 on a NATS cluster may lose what it refuses at that bound)");
    public static final Setting<Integer> CLUSTER_BATCH = range("cluster-batch", 64, 1, 10_000, "the most QoS 1/2 messages for one other node packed into one JetStream message while earlier ones are on their way (stored, replicated, handed over and acknowledged once for all of them; at most --cluster-send-window; 1: each message alone)");
    public static final Setting<Integer> CLUSTER_BATCHES_IN_FLIGHT = range("cluster-batches-in-flight", 4, 1, 10_000, "the most JetStream messages (batches) this node has on their way to JetStream for one other node, not yet acknowledged; what is sent meanwhile waits and goes out packed (see --cluster-batch)");
    public static final Setting<Long> CLUSTER_PUBLISH_TIMEOUT = millis("cluster-publish-timeout", 10_000L, "how long a QoS 1/2 publish waits for JetStream to take it for other nodes before an MQTT 5 publisher is refused with 0x97 (others keep waiting)");
    public static final Setting<String> CLUSTER_SESSIONS = choice("cluster-sessions", "cluster", List.of("cluster", "node"), "where a cluster node keeps persistent MQTT sessions (subscriptions and queued messages): cluster (in JetStream: the session resumes on any node, also after its node died; each message for it is one JetStream write) or node (in this node's own store: its client must come back to this node)");
    public static final Setting<Long> CLUSTER_ACK_WAIT = millis("cluster-ack-wait", 5_000L, 500L, "how long JetStream waits for this node to take a QoS 1/2 message it handed over before handing it again (after a NATS server or the connection to it died); a message held by a slow local subscriber is kept from redelivery while it waits");
    public static final Setting<Long> CLUSTER_FORGET_NODE_AFTER = millis("cluster-forget-node-after", 86_400_000L, 1_000L, "a node down for this long is forgotten: its routes, its client ids in the registry and what JetStream holds for it are deleted (a node that starts again with its id later joins afresh); counted from when it was last heard, at least --cluster-node-timeout");
    public static final Setting<Long> CLUSTER_NODE_TIMEOUT = millis("cluster-node-timeout", 10_000L, 1_000L, "a node not heard from for this long is down: its routes are set aside (no publish waits for it; what JetStream already holds for it stays there until it returns) until it is heard again; nodes say they are alive every quarter of it");

    // ---- MQTT
    public static final Setting<Integer> MAX_PACKET_SIZE = bytes32("max-packet-size", 1024 * 1024, "largest MQTT packet or STOMP frame accepted, in bytes");
    public static final Setting<Long> MQTT_CONNECT_TIMEOUT = millis("mqtt-connect-timeout", 10_000L, "time a new MQTT connection has to send CONNECT before it is closed");
    public static final Setting<Integer> MQTT_RECEIVE_MAXIMUM = range("mqtt-receive-maximum", 64, 1, 65_535, "QoS 1/2 PUBLISHes one MQTT 5 client may have unacknowledged towards the broker (Receive Maximum; more: DISCONNECT 0x93)");
    public static final Setting<Integer> MQTT_MAXIMUM_QOS = range("mqtt-maximum-qos", 2, 0, 2, "highest QoS accepted from MQTT clients (advertised as Maximum QoS; higher: 0x9B)");
    public static final Setting<String> MQTT_SUBSCRIBE_DENIED = choice("mqtt-subscribe-denied", "not-authorized", List.of("not-authorized", "unspecified"), "MQTT 5 SUBACK reason code for a filter the ACL refuses: not-authorized (0x87) or unspecified (0x80, which Eclipse Paho's interoperability suite expects); MQTT 3.1.1 always gets 0x80");
    public static final Setting<Boolean> MQTT_RETAIN_AVAILABLE = bool("mqtt-retain-available", true, "accept retained messages (advertised as Retain Available; otherwise 0x9A)");
    public static final Setting<Integer> MQTT_TOPIC_ALIAS_MAXIMUM = range("mqtt-topic-alias-maximum", 32, 0, 65_535, "topic aliases one MQTT 5 client may define towards the broker (Topic Alias Maximum)");
    public static final Setting<Boolean> MQTT_WILDCARD_SUBSCRIPTIONS = bool("mqtt-wildcard-subscriptions", true, "allow '+' and '#' in subscriptions (otherwise SUBACK 0xA2)");
    public static final Setting<Boolean> MQTT_SUBSCRIPTION_IDENTIFIERS = bool("mqtt-subscription-identifiers", true, "allow MQTT 5 Subscription Identifiers (otherwise DISCONNECT 0xA1)");
    public static final Setting<Boolean> MQTT_SHARED_SUBSCRIPTIONS = bool("mqtt-shared-subscriptions", true, "allow $share/GROUP/FILTER subscriptions (otherwise SUBACK 0x9E)");
    public static final Setting<Integer> MQTT_SERVER_KEEP_ALIVE = range("mqtt-server-keep-alive", 0, 0, 65_535, "keep-alive seconds imposed on MQTT 5 clients through Server Keep Alive (0: the client's own)");
    public static final Setting<String> MQTT_RESPONSE_INFORMATION = string("mqtt-response-information", "", "Response Information given to MQTT 5 clients that request it, the base of their response topics (empty: none)");

    // ---- delta delivery (opt-in per subscription)
    public static final Setting<Integer> DELTA_FULL_EVERY = range("delta-full-every", 50, 1, 1_000_000, "a subscription that asked for deltas gets a message in full at least every this many messages per topic (1: never a delta)");
    public static final Setting<Long> DELTA_MEMORY = bytes("delta-memory", 1024 * 1024, "payload bytes one connection keeps as the bases of its deltas (the least recently used topics are forgotten past it; their next message goes in full)");

    // ---- STOMP
    public static final Setting<Integer> STOMP_PORT = port("stomp-port", 61613, "STOMP over TCP port (0: ephemeral, -1: off)");
    public static final Setting<Long> STOMP_CONNECT_TIMEOUT = millis("stomp-connect-timeout", 10_000L, "time a new STOMP connection has to send CONNECT before it is closed (0: no limit)");
    public static final Setting<Long> STOMP_HEARTBEAT_MIN = millis("stomp-heartbeat-min", 1_000, "shortest STOMP heart-beat interval the server agrees to, either way");
    public static final Setting<Long> STOMP_HEARTBEAT_GRACE = millis("stomp-heartbeat-grace", 5_000, "a STOMP client silent for its heart-beat interval plus this is disconnected");
    public static final Setting<Integer> STOMP_MAX_HEADER_LINE = bytes32("stomp-max-header-line", 8 * 1024, "longest STOMP command or header line, in bytes");
    public static final Setting<Integer> STOMP_MAX_HEADERS = positive("stomp-max-headers", 64, "most headers in one STOMP frame");
    public static final Setting<Integer> STOMP_MAX_SUBSCRIPTIONS = positive("stomp-max-subscriptions", 1000, "most subscriptions on one STOMP connection");
    public static final Setting<Integer> STOMP_MAX_TRANSACTION_FRAMES = positive("stomp-max-transaction-frames", 1000, "most SEND/ACK/NACK frames held by one open STOMP transaction (and open transactions per connection)");
    public static final Setting<Integer> STOMP_MAX_QUEUES = positive("stomp-max-queues", 10_000, "most STOMP /queue/ destinations; each holds up to max-queued-messages while it has no consumer");

    // ---- HTTP fallback: Server-Sent Events, long-polling, publish over HTTP (on the HTTP port)
    public static final Setting<Long> SSE_HEARTBEAT = millis("sse-heartbeat", 15_000, "interval of the comment lines sent on an idle SSE stream, so proxies keep it open and a dead client is noticed (0: none)");
    public static final Setting<Long> SSE_RETRY = millis("sse-retry", 3_000, "reconnect delay an SSE stream tells the browser (the retry: field)");
    public static final Setting<Long> POLL_TIMEOUT = millis("poll-timeout", 25_000, "longest a GET /poll is held waiting for a message before it answers an empty batch");
    public static final Setting<Integer> POLL_MAX_MESSAGES = positive("poll-max-messages", 500, "most messages in one /poll answer; the rest come with the next poll");
    public static final Setting<Integer> HISTORY_MESSAGES = range("history-messages", 100, 0, 1_000_000, "messages kept per topic for SSE and long-poll readers to resume by position (0: no history; a resume is then always a reset)");
    public static final Setting<Long> HISTORY_AGE = millis("history-age", 600_000, "longest a message is kept in the history");
    public static final Setting<Integer> HISTORY_MAX_TOPICS = positive("history-max-topics", 10_000, "topics with a history; past this the least recently published topic's history is forgotten (readers resuming from before it get a reset)");
    public static final Setting<List<String>> HISTORY_FILTERS = list("history-filters", List.of("#"), "topic filters (comma separated) whose topics keep a history; other topics are delivered live only");

    // ---- limits against floods and storms (0: no limit where the help says so)
    public static final Setting<Integer> MAX_CONNECTIONS = range("max-connections", 0, 0, Integer.MAX_VALUE, "open client connections on all listeners; more are refused (HTTP 503, MQTT CONNACK 0x97/0x03, STOMP ERROR); 0: as many as the process's open-files limit leaves room for, less " + io.sluice.server.ops.Admission.OWN_FILES + " for the broker's own files (its store, the cluster's connection), so a connection past it is refused in its protocol instead of left unaccepted");
    public static final Setting<Integer> MAX_CONNECTIONS_PER_ADDRESS = range("max-connections-per-address", 0, 0, Integer.MAX_VALUE, "open connections from one remote IP address (0: no limit; clients behind one NAT share an address)");
    public static final Setting<Integer> CONNECT_RATE = range("connect-rate", 0, 0, Integer.MAX_VALUE, "a fixed pace for new connections per second, a token bucket, refusing past it even when the broker has room (HTTP 429, MQTT CONNACK 0x9F/0x03, STOMP ERROR; 0: none, admission follows overload-lag)");
    public static final Setting<Long> OVERLOAD_LAG = millis("overload-lag", 2000, "new connections are refused as they are accepted while the I/O threads have run their tasks later than this for three seconds, i.e. while the broker is overloaded and its connected clients wait for it: MQTT CONNACK 0x89/0x03 and STOMP ERROR from a thread of their own, WebSocket upgrades HTTP 503 with Retry-After, plain HTTP requests (health, metrics, admin) still served (0: never)");
    public static final Setting<Integer> MAX_PENDING_HANDSHAKES = range("max-pending-handshakes", 512, 1, Integer.MAX_VALUE, "connections handed to the I/O threads and not yet answered (MQTT CONNACK, STOMP CONNECTED, over WebSocket the upgrade too; a plain HTTP request gives its place back as it is routed) at once, on all listeners; more wait their turn, accepted and on no I/O thread, so a reconnect storm does not crowd the I/O threads its connected clients need (one waiting longer than handshake-timeout is closed); also how many sockets refused while overloaded are being answered at once (past it they are closed unanswered)");
    public static final Setting<Integer> ACCEPT_BACKLOG = range("accept-backlog", 4096, 1, 65_535, "connections the kernel holds for each listener before the broker accepts them (the listen backlog; Linux caps it at net.core.somaxconn), and as many again that the broker holds accepted while every place of max-pending-handshakes is taken, past which it stops accepting until half of them are served; a storm past both sees its SYNs dropped and retried after 1, 3, 7 s");
    public static final Setting<Integer> CONNECT_BURST = positive("connect-burst", 2000, "connections admitted at once before connect-rate paces them (the token bucket's size; only with a connect-rate)");
    public static final Setting<Integer> MAX_SUBSCRIPTIONS_PER_CLIENT = positive("max-subscriptions-per-client", 1000, "subscriptions one MQTT session may hold (STOMP connections: stomp-max-subscriptions)");
    public static final Setting<Integer> MAX_TOPIC_LENGTH = range("max-topic-length", 4096, 1, 65_535, "bytes (UTF-8) of a topic name or filter, STOMP destination included");
    public static final Setting<Integer> MAX_TOPIC_LEVELS = range("max-topic-levels", 64, 1, 32_768, "levels ('/'-separated parts) of a topic name or filter");

    // ---- operations
    public static final Setting<Boolean> METRICS_AT_START = bool("metrics-at-start", true, "build the metrics registry (GET /metrics, the console's charts) at start-up; false builds it on the first scrape or admin request, for a faster start (counting goes on meanwhile; the delivery latency histogram starts at the build)");
    public static final Setting<Long> SYS_INTERVAL = millis("sys-interval", 10_000, "how often $SYS/broker/... topics are published, retained (0: off)");
    public static final Setting<String> ADMIN_API = choice("admin-api", "loopback", List.of("loopback", "users", "off"), "who may use the admin API (/api/v1/) and the console's data: loopback clients only, and once authentication is configured only with the HTTP Basic credentials of an --admin-users user; users: such a user from any address; off: nobody (the console's static files are served either way)");
    public static final Setting<List<String>> ADMIN_USERS = list("admin-users", "users (comma separated) holding the admin role: the admin API answers them, with their password-file credentials, once authentication is configured");
    public static final Setting<Integer> ADMIN_MAX_PAGE = range("admin-max-page", 1000, 1, 100_000, "most items one admin API page holds (connections, sessions, subscriptions, retained messages); a larger limit is answered with 400");
    public static final Setting<Integer> ADMIN_MAX_TOPICS = range("admin-max-topics", 10_000, 0, 10_000_000, "distinct topics the admin API keeps message rates for; publishes to topics beyond are counted together as other topics (0: no per-topic rates)");
    public static final Setting<Long> WARM_UP = millis("warm-up", parseMillis(System.getProperty("sluice.warm-up", "0")), "before binding, carry MQTT traffic through a private loopback broker (rounds of new clients on new topics) until the JIT's compiler threads are nearly idle, for at most this long, so the JIT has compiled part of the publish path before the first client (0: off); the command line's start only, never an embedded broker (the JVM property sluice.warm-up sets the default: bin/sluice sets 10s on Java 17 to 24)");
    public static final Setting<Long> SHUTDOWN_DRAIN = millis("shutdown-drain", 10_000, "on shutdown, how long in-flight QoS 1/2 deliveries get to be acknowledged before connections close");

    // ---- test runs (docs/testing.md)
    public static final Setting<Boolean> STRICT = bool("strict", false, "record every protocol rule a client breaks (rule id, spec section, client, bytes), including what the broker tolerates, and report them on exit");
    public static final Setting<Path> TRACE = setting("trace", null, "write every packet and frame of each client, both ways, as JSON lines to DIR/<protocol>-<client id>.jsonl", Path::of);
    public static final Setting<Boolean> FAULT_INJECTION = bool("fault-injection", false, "serve the test-control endpoints under /api/v1/testkit/ on the HTTP port (drop, delay, refuse, disconnect, restart; never in production)");
    public static final Setting<Path> PORT_FILE = setting("port-file", null, "once bound, write the listeners' ports to this file as JSON ({\"mqtt\":1883,...})", Path::of);
    public static final Setting<Path> VIOLATIONS_FILE = setting("violations-file", null, "with --strict, write the violations to this file as JSON lines on exit", Path::of);

    private final Map<Setting<?>, Object> values;

    private Settings(Map<Setting<?>, Object> values) {
        this.values = values;
    }

    public static Settings defaults() {
        return new Settings(new HashMap<>());
    }

    /** Parse flags (and the config file they name); unknown flags and bad values throw, naming the flag. */
    public static Settings parse(String... args) {
        Map<String, String> flags = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--") || arg.length() == 2) {
                throw new SettingsException("unexpected argument '" + arg + "': settings are flags like --mqtt-port 1883 (see --help)");
            }
            String name = arg.substring(2);
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (isSwitch(name) && (i + 1 == args.length || args[i + 1].startsWith("--"))) {
                // a true/false setting given alone is switched on: --strict
                value = "true";
            } else if (i + 1 < args.length) {
                value = args[++i];
            } else {
                throw new SettingsException("--" + name + " needs a value (see --help)");
            }
            if (!ALL.containsKey(name)) {
                throw new SettingsException("unknown flag --" + name + " (see --help for every setting)");
            }
            flags.put(name, value);
        }
        Map<String, String> raw = new LinkedHashMap<>();
        if (flags.containsKey(CONFIG.name())) {
            raw.putAll(readFile(Path.of(flags.get(CONFIG.name()))));
        }
        raw.putAll(flags);
        Map<Setting<?>, Object> values = new HashMap<>();
        for (Map.Entry<String, String> e : raw.entrySet()) {
            Setting<?> s = ALL.get(e.getKey());
            values.put(s, s.parse(e.getValue()));
        }
        return new Settings(values);
    }

    private static boolean isSwitch(String name) {
        Setting<?> s = ALL.get(name);
        return s != null && s.defaultValue() instanceof Boolean;
    }

    private static Map<String, String> readFile(Path file) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        } catch (IOException e) {
            throw new SettingsException("--config: cannot read " + file + ": " + e.getMessage());
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String key : p.stringPropertyNames()) {
            if (!ALL.containsKey(key) || key.equals(CONFIG.name())) {
                throw new SettingsException("unknown key '" + key + "' in " + file + " (keys are the flag names of --help)");
            }
            out.put(key, p.getProperty(key));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    public <T> T get(Setting<T> s) {
        return values.containsKey(s) ? (T) values.get(s) : s.defaultValue();
    }

    /** A copy with one setting changed, for tests and embedding. */
    public <T> Settings with(Setting<T> s, T value) {
        Map<Setting<?>, Object> copy = new HashMap<>(values);
        copy.put(s, value);
        return new Settings(copy);
    }

    public static Collection<Setting<?>> all() {
        return Collections.unmodifiableCollection(ALL.values());
    }

    public static String help() {
        StringBuilder sb = new StringBuilder("Usage: java -jar sluice.jar [--flag value ...]\n"
                + "Every flag is also a key of the --config properties file; flags win.\n\n");
        for (Setting<?> s : ALL.values()) {
            String flag = "  --" + s.name();
            sb.append(flag).append(" ".repeat(Math.max(1, 28 - flag.length()))).append(s.help());
            if (s.defaultValue() != null) {
                sb.append(" [default: ").append(defaultText(s)).append(']');
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    // ---- declaration helpers

    private static <T> String defaultText(Setting<T> s) {
        T d = s.defaultValue();
        return d instanceof List<?> l && l.isEmpty() ? "none" : s.format(d);
    }

    private static <T> Setting<T> setting(String name, T def, String help, Function<String, T> parser) {
        return register(new Setting<>(name, def, help, parser));
    }

    private static <T> Setting<T> register(Setting<T> s) {
        String name = s.name();
        if (ALL.put(name, s) != null) {
            throw new IllegalStateException("setting declared twice: " + name);
        }
        return s;
    }

    static Setting<String> string(String name, String def, String help) {
        return setting(name, def, help, v -> v);
    }

    static Setting<Boolean> bool(String name, boolean def, String help) {
        return setting(name, def, help, v -> switch (v.toLowerCase()) {
            case "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> throw new IllegalArgumentException("expected true or false");
        });
    }

    static Setting<String> choice(String name, String def, List<String> choices, String help) {
        return setting(name, def, help + " (one of " + String.join(", ", choices) + ")", v -> {
            if (!choices.contains(v.toLowerCase())) {
                throw new IllegalArgumentException("expected one of " + String.join(", ", choices));
            }
            return v.toLowerCase();
        });
    }

    static Setting<Integer> range(String name, int def, int min, int max, String help) {
        return setting(name, def, help, v -> {
            int n = Integer.parseInt(v);
            if (n < min || n > max) {
                throw new IllegalArgumentException("must be between " + min + " and " + max);
            }
            return n;
        });
    }

    static Setting<Integer> port(String name, int def, String help) {
        return range(name, def, -1, 65_535, help);
    }

    static Setting<Integer> positive(String name, int def, String help) {
        return range(name, def, 1, Integer.MAX_VALUE, help);
    }

    /** A size in bytes, with an optional k, m or g suffix (binary). */
    static Setting<Long> bytes(String name, long def, String help) {
        return setting(name, def, help, Settings::parseBytes);
    }

    static Setting<Integer> bytes32(String name, int def, String help) {
        return setting(name, def, help, v -> Math.toIntExact(parseBytes(v)));
    }

    /** A duration in milliseconds, written as 500ms, 30s, 5m or a bare number of seconds. */
    static Setting<Long> millis(String name, long def, String help) {
        return register(new Setting<>(name, def, help, Settings::parseMillis, Settings::formatMillis));
    }

    /** A duration that must be at least {@code min} milliseconds (a shorter one would defeat its purpose). */
    static Setting<Long> millis(String name, long def, long min, String help) {
        return register(new Setting<>(name, def, help, v -> {
            long n = parseMillis(v);
            if (n < min) {
                throw new IllegalArgumentException("must be at least " + formatMillis(min));
            }
            return n;
        }, Settings::formatMillis));
    }

    /** Milliseconds as a flag takes them: 10s, 5m, 250ms (a bare number would mean seconds). */
    static String formatMillis(long ms) {
        if (ms != 0 && ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }

    static Setting<List<String>> list(String name, String help) {
        return list(name, List.of(), help);
    }

    static Setting<List<String>> list(String name, List<String> def, String help) {
        return register(new Setting<>(name, def, help,
                v -> v.isEmpty() ? List.of() : Arrays.stream(v.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList(),
                l -> String.join(",", l)));
    }

    static long parseBytes(String v) {
        String s = v.toLowerCase();
        long unit = 1;
        if (s.endsWith("k")) {
            unit = 1024;
        } else if (s.endsWith("m")) {
            unit = 1024 * 1024;
        } else if (s.endsWith("g")) {
            unit = 1024L * 1024 * 1024;
        }
        long n = Long.parseLong(unit == 1 ? s : s.substring(0, s.length() - 1));
        if (n < 0) {
            throw new IllegalArgumentException("must not be negative");
        }
        return n * unit;
    }

    static long parseMillis(String v) {
        String s = v.toLowerCase();
        long n;
        if (s.endsWith("ms")) {
            n = Long.parseLong(s.substring(0, s.length() - 2));
        } else if (s.endsWith("s")) {
            n = Long.parseLong(s.substring(0, s.length() - 1)) * 1000;
        } else if (s.endsWith("m")) {
            n = Long.parseLong(s.substring(0, s.length() - 1)) * 60_000;
        } else {
            n = Long.parseLong(s) * 1000;
        }
        if (n < 0) {
            throw new IllegalArgumentException("must not be negative");
        }
        return n;
    }

    List<String> names() {
        return new ArrayList<>(ALL.keySet());
    }
}
