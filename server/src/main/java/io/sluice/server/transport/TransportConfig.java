package io.sluice.server.transport;

import io.sluice.server.config.Settings;

/**
 * The transport's limits and timers, read once from the settings.
 *
 * @param maxHeaderSize      HTTP header block limit of the upgrade request (and every HTTP request)
 * @param maxContentLength   HTTP body limit
 * @param maxFrameSize       WebSocket frame payload limit
 * @param pingIntervalMillis interval of server Pings, 0 for none
 * @param idleTimeoutMillis  read silence after which a WebSocket is closed, 0 for never
 * @param handshakeTimeoutMillis time a connection gets to complete its upgrade and name its protocol
 * @param sniffLimit         bytes buffered while recognising the protocol from the first frames
 * @param compression        permessage-deflate on WebSockets
 */
public record TransportConfig(int maxHeaderSize, int maxContentLength, int maxFrameSize, long pingIntervalMillis,
                              long idleTimeoutMillis, long handshakeTimeoutMillis, int sniffLimit,
                              WebSocketCompression.Config compression) {

    public static TransportConfig from(Settings s) {
        return new TransportConfig(s.get(Settings.HTTP_MAX_HEADER_SIZE), s.get(Settings.HTTP_MAX_CONTENT_LENGTH),
                s.get(Settings.WS_MAX_FRAME_SIZE), s.get(Settings.WS_PING_INTERVAL), s.get(Settings.WS_IDLE_TIMEOUT),
                s.get(Settings.HANDSHAKE_TIMEOUT), s.get(Settings.WS_SNIFF_LIMIT),
                WebSocketCompression.Config.from(s));
    }
}
