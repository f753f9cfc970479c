package io.sluice.server.mqtt;

import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.events.Refusal;
import io.sluice.server.events.Rule;
import io.sluice.server.testkit.Probe;

/**
 * Refusing a CONNECT: a CONNACK with the reason code (MQTT 5, with a reason string) or the nearest 3.1.1
 * return code, then close (MQTT 5 section 3.2.2.2, 3.1.1 section 3.2.2.3). Where MQTT 3.1.1 has no return
 * code for the reason, the connection closes without a CONNACK, as that spec says.
 */
final class MqttConnectRefusal {
    private final MqttConnection connection;

    MqttConnectRefusal(MqttConnection connection) {
        this.connection = connection;
    }

    /**
     * A connection {@link io.sluice.server.ops.Admission} refused (a limit, the connection rate, overload,
     * shutdown): MQTT 5 CONNACK 0x97 quota exceeded, 0x9F connection rate exceeded, 0x89 server busy or 0x88 server
     * unavailable; MQTT 3.1.1 return code 0x03 server unavailable.
     */
    void refuse(Refusal admission) {
        ReasonCode reason = switch (admission) {
            case CONNECTION_LIMIT, ADDRESS_LIMIT, SESSION_LIMIT -> ReasonCode.QUOTA_EXCEEDED;
            case RATE_LIMIT -> ReasonCode.CONNECTION_RATE_EXCEEDED;
            case OVERLOADED -> ReasonCode.SERVER_BUSY;
            default -> ReasonCode.SERVER_UNAVAILABLE;
        };
        refuse(reason, admission.message(), admission);
    }

    /** A CONNECT that broke a rule of the protocol: strict mode records it, then it is refused as any other. */
    void refuse(Rule rule, ReasonCode reason, String why) {
        if (!connection.isClosing()) {
            Probe.violated(connection.channel, rule, connection.clientId(), why);
        }
        refuse(reason, why);
    }

    void refuse(ReasonCode reason, String why) {
        refuse(reason, why, switch (reason) {
            case UNSUPPORTED_PROTOCOL_VERSION -> Refusal.UNSUPPORTED_VERSION;
            case CLIENT_IDENTIFIER_NOT_VALID -> Refusal.CLIENT_ID_REJECTED;
            case BAD_USER_NAME_OR_PASSWORD, NOT_AUTHORIZED, BAD_AUTHENTICATION_METHOD -> Refusal.NOT_AUTHORIZED;
            default -> Refusal.BAD_HANDSHAKE;
        });
    }

    private void refuse(ReasonCode reason, String why, Refusal counted) {
        if (connection.isClosing()) {
            return;
        }
        connection.events.refused(connection.info.transport(), connection.info.remote(), "mqtt",
                connection.clientId(), counted, why);
        byte code;
        if (connection.isV5()) {
            code = reason.code();
        } else if (reason.v3ConnectReturnCode() >= 0) {
            code = (byte) reason.v3ConnectReturnCode();
        } else {
            // a broken rule was recorded by refuse(Rule, ...) already
            connection.closeForViolation(null, reason, "CONNECT refused: " + why);
            return;
        }
        MqttConnection.log().warn("{}: CONNECT refused: {}; answered CONNACK {}", connection.describe(), why,
                connection.isV5() ? reason.toString() : "return code " + code);
        connection.markClosing();
        connection.channel.writeAndFlush(MqttMessageBuilders.connAck()
                        .returnCode(MqttConnectReturnCode.valueOf(code))
                        .sessionPresent(false)
                        .properties(connection.reasonString(why))
                        .build())
                .addListener(ChannelFutureListener.CLOSE);
    }
}
