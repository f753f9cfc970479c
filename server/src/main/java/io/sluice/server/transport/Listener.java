package io.sluice.server.transport;

import io.netty.channel.ChannelHandler;
import io.sluice.server.config.Setting;
import io.sluice.server.events.Transport;

/**
 * A listening port: its name (in the ready line and {@code SluiceServer.port(name)}), the setting that holds its
 * port (-1: disabled, 0: ephemeral), the transport its connections use (the HTTP port counts as WebSocket),
 * and the initializer of its connections' pipelines.
 */
public record Listener(String name, Setting<Integer> port, Transport transport, ChannelHandler initializer) {
}
