package io.sluice.server.mqtt;

import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.security.AuthMechanism;
import io.sluice.server.security.Security;
import io.sluice.server.security.Credentials;

/**
 * One MQTT 5 enhanced authentication (section 4.12) of a connection: the mechanism's exchange, and the AUTH
 * packets that carry its steps. The connect handler drives it with the client's CONNECT and AUTH packets.
 */
final class MqttEnhancedAuth {
    private final String method;
    private final Credentials credentials;
    private final AuthMechanism.Exchange exchange;
    private boolean inProgress = true;

    private MqttEnhancedAuth(String method, Credentials credentials, AuthMechanism.Exchange exchange) {
        this.method = method;
        this.credentials = credentials;
        this.exchange = exchange;
    }

    /** A new exchange, or null when the authenticator has no mechanism of that name (CONNACK 0x8C). */
    static MqttEnhancedAuth start(Security security, String method, Credentials credentials) {
        AuthMechanism mechanism = security.mechanism(method);
        return mechanism == null ? null : new MqttEnhancedAuth(method, credentials, mechanism.start(credentials));
    }

    String method() {
        return method;
    }

    Credentials credentials() {
        return credentials;
    }

    /** True until the mechanism said success or failure. */
    boolean inProgress() {
        return inProgress;
    }

    AuthMechanism.Step respond(byte[] clientData) {
        AuthMechanism.Step step = exchange.respond(clientData == null ? new byte[0] : clientData);
        inProgress = step.kind() == AuthMechanism.Step.Kind.CHALLENGE;
        return step;
    }

    /** AUTH 0x18 Continue authentication, with the challenge. */
    MqttMessage challenge(byte[] data) {
        return MqttMessageBuilders.auth().reasonCode(ReasonCode.CONTINUE_AUTHENTICATION.code())
                .properties(properties(data)).build();
    }

    /** AUTH 0x00 Success, ending a re-authentication. */
    MqttMessage success(byte[] data) {
        return MqttMessageBuilders.auth().reasonCode(ReasonCode.SUCCESS.code()).properties(properties(data)).build();
    }

    private MqttProperties properties(byte[] data) {
        MqttProperties p = new MqttProperties();
        p.add(new MqttProperties.StringProperty(MqttProperties.AUTHENTICATION_METHOD, method));
        if (data != null) {
            p.add(new MqttProperties.BinaryProperty(MqttProperties.AUTHENTICATION_DATA, data));
        }
        return p;
    }
}
