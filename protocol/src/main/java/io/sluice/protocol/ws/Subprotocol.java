package io.sluice.protocol.ws;

import java.util.Optional;

/** The WebSocket subprotocols Sluice speaks, by their registered {@code Sec-WebSocket-Protocol} names. */
public enum Subprotocol {
    /** MQTT 3.1.1 and 5.0 (MQTT 5 section 6, 3.1.1 section 6). */
    MQTT("mqtt", Family.MQTT),
    /** MQTT 3.1, whose clients ask for this older name. */
    MQTT_V31("mqttv3.1", Family.MQTT),
    STOMP_12("v12.stomp", Family.STOMP),
    STOMP_11("v11.stomp", Family.STOMP),
    STOMP_10("v10.stomp", Family.STOMP);

    public enum Family { MQTT, STOMP }

    private final String token;
    private final Family family;

    Subprotocol(String token, Family family) {
        this.token = token;
        this.family = family;
    }

    public String token() {
        return token;
    }

    public Family family() {
        return family;
    }

    public static Optional<Subprotocol> of(String token) {
        for (Subprotocol p : values()) {
            if (p.token.equalsIgnoreCase(token.trim())) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
