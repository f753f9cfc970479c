package io.sluice.server.mqtt;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.mqtt.MqttConnAckMessage;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttMessage;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttMessageType;
import io.netty.handler.codec.mqtt.MqttProperties;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.handler.codec.mqtt.MqttPublishVariableHeader;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.netty.handler.codec.mqtt.MqttReasonCodeAndPropertiesVariableHeader;
import io.netty.handler.codec.mqtt.MqttVersion;
import io.sluice.protocol.mqtt.ReasonCode;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input closes only the offending connection, with the spec's reason code where the version has one
 * (MQTT 5 section 4.13: DISCONNECT after CONNECT, CONNACK during it; MQTT 3.1.1 section 4.8: close), and leaves
 * other clients and accepted messages alone: every test checks a bystander subscriber still gets a message
 * the offender published before its mistake.
 */
class MqttBadInputTest {
    private static final int MAX_PACKET = 1024;
    private MqttTestServer server;
    private RawMqttClient bystander;

    @BeforeEach
    void start() {
        server = new MqttTestServer(Settings.defaults().with(Settings.MAX_PACKET_SIZE, MAX_PACKET));
        bystander = RawMqttClient.connected(server.port(), MqttVersion.MQTT_3_1_1, "bystander", true);
        bystander.send(MqttMessageBuilders.subscribe().messageId(1).addSubscription(MqttQoS.AT_LEAST_ONCE, "t/#").build());
        bystander.expect(MqttMessageType.SUBACK);
    }

    @AfterEach
    void stop() {
        bystander.close();
        server.close();
    }

    /** Connects, publishes one accepted QoS 1 message (PUBACK seen), and returns the client. */
    private RawMqttClient offender(MqttVersion version) {
        RawMqttClient c = RawMqttClient.connected(server.port(), version, "offender", true);
        c.send(publish("t/accepted", 1, 7, "before"));
        c.expect(MqttMessageType.PUBACK);
        return c;
    }

    /** The bystander got the offender's accepted message and nothing was lost or broken for it. */
    private void bystanderUnharmed() {
        MqttPublishMessage p = (MqttPublishMessage) bystander.expect(MqttMessageType.PUBLISH);
        assertEquals("t/accepted", p.variableHeader().topicName());
        bystander.send(MqttMessageBuilders.pubAck().packetId(p.variableHeader().packetId()).build());
        bystander.send(MqttMessage.PINGREQ);
        bystander.expect(MqttMessageType.PINGRESP);
        assertTrue(bystander.isOpen());
    }

    private static void assertDisconnectedWith(RawMqttClient c, ReasonCode reason) {
        MqttMessage d = c.expect(MqttMessageType.DISCONNECT);
        assertEquals(reason.code(), ((MqttReasonCodeAndPropertiesVariableHeader) d.variableHeader()).reasonCode(),
                "DISCONNECT " + d);
        assertTrue(c.awaitClosed(10_000));
    }

    private static void assertClosedSilently(RawMqttClient c) {
        assertTrue(c.awaitClosed(10_000));
        assertNull(c.next(100), "no packet expected before the close");
    }

    static MqttPublishMessage publish(String topic, int qos, int packetId, String payload) {
        return new MqttPublishMessage(new MqttFixedHeader(MqttMessageType.PUBLISH, false, MqttQoS.valueOf(qos), false, 0),
                new MqttPublishVariableHeader(topic, packetId, MqttProperties.NO_PROPERTIES),
                Unpooled.wrappedBuffer(payload.getBytes(StandardCharsets.UTF_8)));
    }

    // ---- malformed packets

    @Test
    void malformedPacketMqtt5GetsDisconnect0x81() {
        RawMqttClient c = offender(MqttVersion.MQTT_5);
        c.sendBytes(0x36, 0x05, 0x00, 0x01, 'x', 0x00, 0x01); // PUBLISH with QoS 3 (MQTT 5 section 3.3.1.2)
        assertDisconnectedWith(c, ReasonCode.MALFORMED_PACKET);
        bystanderUnharmed();
    }

    @Test
    void malformedPacketMqtt311Closes() {
        RawMqttClient c = offender(MqttVersion.MQTT_3_1_1);
        c.sendBytes(0x36, 0x05, 0x00, 0x01, 'x', 0x00, 0x01);
        assertClosedSilently(c);
        bystanderUnharmed();
    }

    @Test
    void secondConnectIsAProtocolError() { // MQTT 5 section 3.1: a second CONNECT is a Protocol Error
        RawMqttClient c = offender(MqttVersion.MQTT_5);
        c.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_5).clientId("offender").build());
        assertDisconnectedWith(c, ReasonCode.PROTOCOL_ERROR);
        bystanderUnharmed();
    }

    @Test
    void secondConnectMqtt311Closes() { // MQTT 3.1.1 section 3.1: [MQTT-3.1.0-2]
        RawMqttClient c = offender(MqttVersion.MQTT_3_1_1);
        c.send(MqttMessageBuilders.connect().protocolVersion(MqttVersion.MQTT_3_1_1).clientId("offender").build());
        assertClosedSilently(c);
        bystanderUnharmed();
    }

    @Test
    void packetBeforeConnectCloses() { // MQTT 5 section 3.1: the first packet must be CONNECT
        RawMqttClient c = RawMqttClient.open(server.port());
        c.send(MqttMessage.PINGREQ);
        assertClosedSilently(c);
        RawMqttClient p = offender(MqttVersion.MQTT_3_1_1);
        bystanderUnharmed();
        p.close();
    }

    @Test
    void invalidTopicFilterMqtt5GetsDisconnect0x8F() { // MQTT 5 section 4.7.1: '#' must be last
        RawMqttClient c = offender(MqttVersion.MQTT_5);
        c.send(MqttMessageBuilders.subscribe().messageId(2).addSubscription(MqttQoS.AT_MOST_ONCE, "a/#/b").build());
        assertDisconnectedWith(c, ReasonCode.TOPIC_FILTER_INVALID);
        bystanderUnharmed();
    }

    @Test
    void invalidTopicFilterMqtt311Closes() {
        RawMqttClient c = offender(MqttVersion.MQTT_3_1_1);
        c.send(MqttMessageBuilders.subscribe().messageId(2).addSubscription(MqttQoS.AT_MOST_ONCE, "a+/b").build());
        assertClosedSilently(c);
        bystanderUnharmed();
    }

    @Test
    void wildcardInPublishTopicGetsDisconnect0x90() { // MQTT 5 section 3.3.2.1: no wildcards in a Topic Name
        RawMqttClient c = offender(MqttVersion.MQTT_5);
        c.sendBytes(0x30, 0x05, 0x00, 0x02, 't', '+', 0x00); // Netty's encoder refuses to send it, so as bytes
        assertDisconnectedWith(c, ReasonCode.TOPIC_NAME_INVALID);
        bystanderUnharmed();
    }

    @Test
    void wildcardInPublishTopicMqtt311Closes() {
        RawMqttClient c = offender(MqttVersion.MQTT_3_1_1);
        c.sendBytes(0x32, 0x06, 0x00, 0x02, 't', '#', 0x00, 0x03);
        assertClosedSilently(c);
        bystanderUnharmed();
    }

    @Test
    void packetAtMaximumSizeIsAcceptedOneMoreByteIsNot() { // MQTT 5 section 3.1.2.11.4, setting max-packet-size
        RawMqttClient c = offender(MqttVersion.MQTT_5);
        // QoS 0 PUBLISH on "t/x": 1 header byte + 2 length bytes + 2 + 3 topic + 1 property length + payload
        int overhead = 1 + 2 + 2 + 3 + 1;
        c.send(publish("t/x", 0, 0, "a".repeat(MAX_PACKET - overhead)));
        // the accepted QoS 1 message and the QoS 0 one at the limit, in either order (QoS 0 is never queued behind QoS 1)
        int atLimit = 0;
        for (int i = 0; i < 2; i++) {
            MqttPublishMessage p = (MqttPublishMessage) bystander.expect(MqttMessageType.PUBLISH);
            if (p.fixedHeader().qosLevel() == MqttQoS.AT_LEAST_ONCE) {
                bystander.send(MqttMessageBuilders.pubAck().packetId(p.variableHeader().packetId()).build());
            } else {
                atLimit = p.payload().readableBytes();
            }
        }
        assertEquals(MAX_PACKET - overhead, atLimit);
        c.send(publish("t/x", 0, 0, "a".repeat(MAX_PACKET - overhead + 1)));
        assertDisconnectedWith(c, ReasonCode.PACKET_TOO_LARGE);
    }

    @Test
    void overSizePacketMqtt311Closes() {
        RawMqttClient c = offender(MqttVersion.MQTT_3_1_1);
        c.send(publish("t/x", 1, 9, "a".repeat(4 * MAX_PACKET)));
        assertClosedSilently(c);
        bystanderUnharmed();
    }

    @Test
    void invalidUtf8TopicGetsDisconnect0x81() { // MQTT 5 section 1.5.4: ill-formed UTF-8 is a Malformed Packet
        RawMqttClient c = offender(MqttVersion.MQTT_5);
        // PUBLISH QoS 0, topic of 2 bytes 0xC3 0x28 (an invalid 2-byte sequence), no properties, no payload
        c.sendBytes(0x30, 0x05, 0x00, 0x02, 0xC3, 0x28, 0x00);
        assertDisconnectedWith(c, ReasonCode.MALFORMED_PACKET);
        bystanderUnharmed();
    }

    @Test
    void invalidUtf8ClientIdGetsConnack0x81() {
        RawMqttClient c = RawMqttClient.open(server.port()).speaking(MqttVersion.MQTT_5);
        // CONNECT MQTT 5, clean start, keep-alive 60, no properties, client id 0xFF 0xFE
        c.sendBytes(0x10, 0x0F, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x02, 0x00, 0x3C, 0x00, 0x00, 0x02, 0xFF, 0xFE);
        MqttConnAckMessage ack = (MqttConnAckMessage) c.expect(MqttMessageType.CONNACK);
        assertEquals(ReasonCode.MALFORMED_PACKET.code(), ack.variableHeader().connectReturnCode().byteValue());
        assertTrue(c.awaitClosed(10_000));
        RawMqttClient p = offender(MqttVersion.MQTT_3_1_1);
        bystanderUnharmed();
        p.close();
    }

    @Test
    void zeroPacketIdAtQos1GetsDisconnect0x81() { // MQTT 5 section 2.2.1: a non-zero Packet Identifier
        RawMqttClient c = offender(MqttVersion.MQTT_5);
        c.sendBytes(0x32, 0x08, 0x00, 0x03, 't', '/', 'z', 0x00, 0x00, 0x00);
        assertDisconnectedWith(c, ReasonCode.MALFORMED_PACKET);
        bystanderUnharmed();
    }

    @Test
    void zeroPacketIdMqtt311Closes() {
        RawMqttClient c = offender(MqttVersion.MQTT_3_1_1);
        c.sendBytes(0x32, 0x07, 0x00, 0x03, 't', '/', 'z', 0x00, 0x00);
        assertClosedSilently(c);
        bystanderUnharmed();
    }

    @Test
    void unsupportedProtocolLevelGetsReturnCode1() { // MQTT 3.1.1 section 3.1.2.2
        RawMqttClient c = RawMqttClient.open(server.port());
        c.sendBytes(0x10, 0x0C, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x09, 0x02, 0x00, 0x3C, 0x00, 0x00);
        MqttConnAckMessage ack = (MqttConnAckMessage) c.expect(MqttMessageType.CONNACK);
        assertEquals(1, ack.variableHeader().connectReturnCode().byteValue());
        assertTrue(c.awaitClosed(10_000));
    }

    @Test
    void serverOnlyPacketFromClientIsAProtocolError() {
        RawMqttClient c = offender(MqttVersion.MQTT_5);
        c.sendBytes(0xD0, 0x00); // PINGRESP
        assertDisconnectedWith(c, ReasonCode.PROTOCOL_ERROR);
        bystanderUnharmed();
        assertFalse(c.isOpen());
    }
}
