package io.sluice.server.testkit;

import io.sluice.protocol.mqtt.ReasonCode;

/** What a protocol's probe handler does on the test's command, on the connection's event loop. */
interface ProtocolProbe {
    /** End the connection as the server, saying why in the protocol's own way. */
    void disconnect(ReasonCode reason);
}
