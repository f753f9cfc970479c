package io.sluice.bench.load;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The load generator's flags, {@code --name value}. Every run is bounded in time ({@code --duration}) and in
 * count ({@code --max-messages}); connections go to loopback only.
 */
public final class LoadOptions implements Cloneable {
    static final String HELP = """
            java -jar benchmarks.jar load [flags]
              --scenario S      fanin | fanout | p2p | slow | storm | idle            (p2p)
              --protocol P      mqtt | stomp                                          (mqtt)
              --transport T     tcp | ws                                              (ws)
              --host H          loopback address of the broker                        (127.0.0.1)
              --port N          broker port (the HTTP port for ws)                    (8083)
              --settle S        seconds between the last SUBACK and the first publish (a cluster's
                                routes reach the other nodes a moment after SUBACK)    (0)
              --sub-ports N,..  subscribers connect to these ports in turn (other nodes of a cluster;
                                publishers stay on --port)                             (--port)
              --path P          WebSocket path                                        (/mqtt or /stomp)
              --tls-ca FILE     speak TLS (mqtts, wss), trusting the PEM certificate(s) in FILE (off)
              --qos Q           0 | 1 (STOMP: 0 = ack auto, 1 = client-individual + receipts) (0)
              --payload B       payload bytes, at least 20 (sequence number, timestamp) (64)
              --clients N       fanin: publishers; fanout: subscribers; p2p/slow: pairs; storm/idle: connections (10)
              --duration S      seconds of publishing (after warm-up)                 (5)
              --warmup S        seconds of publishing left out of rates and latency   (1)
              --rate R          total messages/s cap, 0 = as fast as the broker takes them (0)
              --inflight N      QoS 1 messages a publisher has unacknowledged at most (64)
              --transit N       messages a publisher has on their way to its slowest subscriber at most,
                                end to end (a gap in the sequence counts as lost, not on its way): a closed
                                loop: a broker that keeps up is never held back, one that drops shows its
                                losses, and the generator's memory stays bounded          (1000)
              --slow-rate R     acknowledgements/s of the slow subscriber (scenario slow) (20)
              --keepalive S     keep-alive seconds (idle, storm)                      (30)
              --source-addresses N  connect from N loopback addresses 127.0.0.1, .2, ... in turn: one
                                address pair has about 28,000 ephemeral ports; 0 = as many as
                                --clients needs (one per 25,000), IPv4 loopback brokers only  (0)
              --clean-session B MQTT clean session: false makes every session persistent (kept in a
                                broker's store, if it has one)                        (true)
              --stay B          storm: true = a client that got in stays connected; the storm ends
                                when all are in                                         (false)
              --bystanders N    storm: clients connected before the storm that measure their
                                round trips through the broker while it lasts          (0)
              --max-messages N  bound on messages published in all                    (50000000)
              --drain S         seconds to wait for in-flight messages after publishing (10)
              --broker-pid PID  read the broker's CPU seconds and peak RSS from /proc (and heap via jcmd for a JVM)
              --prewarm S       first run the same scenario for S seconds against a raw forwarder in this
                                process (MQTT only), so the generator's own JIT warm-up is not measured as
                                the broker's: for a broker's first seconds after start            (0)
              --await FILE      after --prewarm, print "prewarmed, awaiting FILE" and wait (up to 120 s)
                                for FILE to exist before connecting; a number in it is the broker's pid
                                (the broker is started meanwhile, so its pid is not known before)
              --label L         a name carried into the JSON line
            The last line of output is one JSON object with every figure.""";

    String scenario = "p2p";
    String protocol = "mqtt";
    String transport = "ws";
    String host = "127.0.0.1";
    int port = 8083;
    int[] subPorts;
    double settle = 0;
    String path;
    String tlsCa;
    int qos = 0;
    int payload = 64;
    int clients = 10;
    double duration = 5;
    double warmup = 1;
    double rate = 0;
    int inflight = 64;
    long transit = 1000;
    double slowRate = 20;
    int keepAlive = 30;
    int sourceAddresses = 0;
    boolean cleanSession = true;
    int bystanders = 0;
    boolean stay = false;
    long maxMessages = 50_000_000;
    double drain = 10;
    long brokerPid = 0;
    double prewarm = 0;
    String await;
    String label = "";

    static LoadOptions parse(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                System.out.println(HELP);
                System.exit(0);
            }
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + a + "'\n" + HELP);
            }
            String name = a.substring(2);
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (i + 1 < args.length) {
                value = args[++i];
            } else {
                throw new IllegalArgumentException("--" + name + " needs a value");
            }
            m.put(name, value);
        }
        LoadOptions o = new LoadOptions();
        for (Map.Entry<String, String> e : m.entrySet()) {
            String v = e.getValue();
            switch (e.getKey()) {
                case "scenario" -> o.scenario = oneOf(v, "fanin", "fanout", "p2p", "slow", "storm", "idle");
                case "protocol" -> o.protocol = oneOf(v, "mqtt", "stomp");
                case "transport" -> o.transport = oneOf(v, "tcp", "ws");
                case "host" -> o.host = v;
                case "port" -> o.port = Integer.parseInt(v);
                case "settle" -> o.settle = Double.parseDouble(v);
                case "sub-ports" -> o.subPorts = java.util.Arrays.stream(v.split(",")).mapToInt(Integer::parseInt).toArray();
                case "path" -> o.path = v;
                case "tls-ca" -> o.tlsCa = v;
                case "qos" -> o.qos = Integer.parseInt(oneOf(v, "0", "1"));
                case "payload" -> o.payload = Math.max(Payloads.HEADER, Integer.parseInt(v));
                case "clients" -> o.clients = Math.max(1, Integer.parseInt(v));
                case "duration" -> o.duration = Double.parseDouble(v);
                case "warmup" -> o.warmup = Double.parseDouble(v);
                case "rate" -> o.rate = Double.parseDouble(v);
                case "inflight" -> o.inflight = Math.max(1, Integer.parseInt(v));
                case "transit" -> o.transit = Math.max(1, Long.parseLong(v));
                case "slow-rate" -> o.slowRate = Double.parseDouble(v);
                case "keepalive" -> o.keepAlive = Integer.parseInt(v);
                case "source-addresses" -> o.sourceAddresses = Math.max(0, Integer.parseInt(v));
                case "clean-session" -> o.cleanSession = Boolean.parseBoolean(oneOf(v, "true", "false"));
                case "bystanders" -> o.bystanders = Math.max(0, Integer.parseInt(v));
                case "stay" -> o.stay = Boolean.parseBoolean(oneOf(v, "true", "false"));
                case "max-messages" -> o.maxMessages = Long.parseLong(v);
                case "drain" -> o.drain = Double.parseDouble(v);
                case "broker-pid" -> o.brokerPid = Long.parseLong(v);
                case "prewarm" -> o.prewarm = Double.parseDouble(v);
                case "await" -> o.await = v;
                case "label" -> o.label = v;
                default -> throw new IllegalArgumentException("unknown flag --" + e.getKey() + "\n" + HELP);
            }
        }
        if (o.subPorts == null || o.subPorts.length == 0) {
            o.subPorts = new int[] {o.port};
        }
        if (o.path == null) {
            o.path = "/" + o.protocol;
        }
        if (!o.host.equals("localhost") && !o.host.startsWith("127.") && !o.host.equals("::1")) {
            throw new IllegalArgumentException("--host must be a loopback address: this tool loads one machine only");
        }
        return o;
    }

    /** The same options against another MQTT port (the prewarm's forwarder), without /proc readings. */
    LoadOptions against(int tcpPort, int httpPort, double seconds) {
        try {
            LoadOptions c = (LoadOptions) clone();
            c.port = transport.equals("ws") ? httpPort : tcpPort;
            c.subPorts = new int[] {c.port};
            c.path = "/mqtt";
            c.tlsCa = null;
            c.warmup = 0;
            c.duration = seconds;
            c.drain = 2;
            c.brokerPid = 0;
            c.prewarm = 0;
            c.await = null;
            return c;
        } catch (CloneNotSupportedException e) {
            throw new AssertionError(e);
        }
    }

    private static String oneOf(String v, String... allowed) {
        for (String a : allowed) {
            if (a.equals(v)) {
                return v;
            }
        }
        throw new IllegalArgumentException("'" + v + "' is not one of " + String.join(", ", allowed));
    }

    /** Connections per local address when several are used: well inside the ~28,000 ephemeral ports of one. */
    static final int CONNECTIONS_PER_SOURCE = 25_000;

    /** How many local addresses the connections come from: 1 means the kernel's choice. */
    int sourceAddressCount() {
        if (!host.startsWith("127.")) {
            return 1;
        }
        return sourceAddresses > 0 ? sourceAddresses : (clients + CONNECTIONS_PER_SOURCE - 1) / CONNECTIONS_PER_SOURCE;
    }

    boolean stomp() {
        return protocol.equals("stomp");
    }

    boolean ws() {
        return transport.equals("ws");
    }
}
