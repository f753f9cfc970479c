package io.sluice.junit5;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** A parameter ({@code String} or {@code java.net.URI}) that receives one of the broker's URLs. */
@Target(ElementType.PARAMETER)
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface SluiceUrl {
    Kind value();

    enum Kind {
        /** MQTT over TCP, {@code tcp://127.0.0.1:PORT} (Paho, MQTT.js). */
        TCP,
        /** MQTT over WebSocket, {@code ws://127.0.0.1:PORT/mqtt}. */
        WS,
        /** STOMP over TCP, {@code tcp://127.0.0.1:PORT}. */
        STOMP,
        /** STOMP over WebSocket, {@code ws://127.0.0.1:PORT/stomp} (stomp.js). */
        STOMP_WS,
        /** Server-Sent Events, {@code http://127.0.0.1:PORT/sse} (add {@code ?filter=...}). */
        SSE,
        /** The HTTP port's base, {@code http://127.0.0.1:PORT}. */
        HTTP
    }
}
