package io.sluice.server;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;

/**
 * Where a running broker's clients connect, as URLs the usual clients take as they are: Paho and MQTT.js take
 * {@link #mqtt()} and {@link #mqttWs()}, the HiveMQ client takes {@link #host()} and {@link #mqttPort()},
 * stomp.js takes {@link #stompWs()}, an {@code EventSource} {@link #sse()}. A URL of a listener that is switched off is null.
 */
public record SluiceUrls(String host, int mqttPort, int httpPort, int stompPort) {
    /** From a server's bound listeners; a wildcard bind address is reached on loopback. */
    static SluiceUrls of(Map<String, InetSocketAddress> listeners) {
        String host = null;
        for (InetSocketAddress a : listeners.values()) {
            InetAddress ip = a.getAddress();
            host = ip == null || ip.isAnyLocalAddress() ? InetAddress.getLoopbackAddress().getHostAddress() : ip.getHostAddress();
            break;
        }
        if (host != null && host.contains(":")) {
            host = "[" + host + "]";
        }
        return new SluiceUrls(host, portOf(listeners, "mqtt"), portOf(listeners, "http"), portOf(listeners, "stomp"));
    }

    private static int portOf(Map<String, InetSocketAddress> listeners, String name) {
        InetSocketAddress a = listeners.get(name);
        return a == null ? -1 : a.getPort();
    }

    /** MQTT over TCP: {@code tcp://127.0.0.1:PORT}. */
    public String mqtt() {
        return mqttPort < 0 ? null : "tcp://" + host + ":" + mqttPort;
    }

    /** MQTT over WebSocket: {@code ws://127.0.0.1:PORT/mqtt}. */
    public String mqttWs() {
        return httpPort < 0 ? null : "ws://" + host + ":" + httpPort + "/mqtt";
    }

    /** STOMP over TCP: {@code tcp://127.0.0.1:PORT}. */
    public String stomp() {
        return stompPort < 0 ? null : "tcp://" + host + ":" + stompPort;
    }

    /** STOMP over WebSocket: {@code ws://127.0.0.1:PORT/stomp}. */
    public String stompWs() {
        return httpPort < 0 ? null : "ws://" + host + ":" + httpPort + "/stomp";
    }

    /** Server-Sent Events: {@code http://127.0.0.1:PORT/sse} (add {@code ?filter=a/%23}; see docs/http-fallback.md). */
    public String sse() {
        return httpPort < 0 ? null : "http://" + host + ":" + httpPort + "/sse";
    }

    /** The HTTP port's base: {@code http://127.0.0.1:PORT} (metrics, health, admin). */
    public String http() {
        return httpPort < 0 ? null : "http://" + host + ":" + httpPort;
    }
}
