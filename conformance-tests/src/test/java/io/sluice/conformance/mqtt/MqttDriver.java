package io.sluice.conformance.mqtt;

/** A Java MQTT client library at one protocol version, behind the small surface the feature checks use. */
public interface MqttDriver {
    /** Opens a connection and waits for CONNACK; throws if the broker refuses it. */
    MqttConn connect(Endpoint endpoint, Options options) throws Exception;

    /** Where to connect: MQTT over TCP, or MQTT over WebSocket on path /mqtt, on 127.0.0.1. */
    record Endpoint(boolean websocket, int port) {
        public String uri() {
            return websocket ? "ws://127.0.0.1:" + port + "/mqtt" : "tcp://127.0.0.1:" + port;
        }
    }

    /** Connect options; {@code willTopic} null: no will. A non-clean session asks for a 300 s expiry on MQTT 5. */
    record Options(String clientId, boolean clean, int keepAliveSeconds, String willTopic, String willPayload) {
        public static Options clean(String clientId) {
            return new Options(clientId, true, 30, null, null);
        }

        public static Options persistent(String clientId) {
            return new Options(clientId, false, 30, null, null);
        }

        public Options keepAlive(int seconds) {
            return new Options(clientId, clean, seconds, willTopic, willPayload);
        }

        public Options will(String topic, String payload) {
            return new Options(clientId, clean, keepAliveSeconds, topic, payload);
        }
    }
}
