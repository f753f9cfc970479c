package io.sluice.server.sse;

import io.sluice.server.config.Settings;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.sluice.server.sse.FallbackBroker.WAIT;
import static io.sluice.server.sse.FallbackBroker.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** POST /publish with java.net.http: to MQTT and STOMP subscribers, from STOMP to SSE, 503 under a stalled subscriber. */
class HttpPublishTest {
    private FallbackBroker broker;

    @AfterEach
    void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void anHttpPublishReachesMqttAndStompSubscribers() throws Exception {
        broker = new FallbackBroker();
        MqttClient sub = broker.mqtt("sub");
        BlockingQueue<MqttMessage> got = new LinkedBlockingQueue<>();
        sub.subscribe("plant/+/temp", 1, (t, m) -> got.add(m));
        try (Socket stomp = stompSubscriber("/topic/plant/#")) {
            HttpResponse<String> r = broker.publish("plant/p1/temp", 1, false, "42".getBytes(), "text/plain");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(2, FallbackBroker.JSON.readTree(r.body()).get("matched").asInt());
            MqttMessage m = got.poll(10, TimeUnit.SECONDS);
            assertNotNull(m, "the MQTT subscriber got nothing");
            assertEquals("42", new String(m.getPayload(), StandardCharsets.UTF_8));
            assertEquals(1, m.getQos());
            String frame = readFrame(stomp.getInputStream());
            assertTrue(frame.startsWith("MESSAGE"), frame);
            assertTrue(frame.contains("content-type:text/plain"), frame);
            assertTrue(frame.endsWith("\n\n42"), frame);
        }
        sub.disconnect();
    }

    @Test
    void aStompSendReachesAnSseReader() throws Exception {
        broker = new FallbackBroker();
        try (SseClient sse = broker.sse("chat/#", null); Socket stomp = stompConnect()) {
            while (sse.nextRaw(WAIT).id().isEmpty()) {
                // up to the stream's starting position: subscribed
            }
            stomp.getOutputStream().write(("SEND\ndestination:/topic/chat/room1\nreceipt:r1\n\nhello\0")
                    .getBytes(StandardCharsets.UTF_8));
            assertTrue(readFrame(stomp.getInputStream()).startsWith("RECEIPT"));
            var e = json(sse.next(WAIT));
            assertEquals("chat/room1", e.get("topic").asText());
            assertEquals("hello", e.get("payload").asText());
        }
    }

    @Test
    void aFullSubscriberQueueAnswers503WithRetryAfterAndQueuesNothing() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.INFLIGHT_WINDOW, 1).set(Settings.MAX_QUEUED_MESSAGES, 2));
        MqttClient stalled = broker.mqtt("stalled");
        stalled.setManualAcks(true);
        BlockingQueue<MqttMessage> arrived = new LinkedBlockingQueue<>();
        stalled.setCallback(new MqttCallback() {
            @Override
            public void connectionLost(Throwable cause) {
            }

            @Override
            public void messageArrived(String topic, MqttMessage message) {
                arrived.add(message); // never acknowledged
            }

            @Override
            public void deliveryComplete(IMqttDeliveryToken token) {
            }
        });
        stalled.subscribe("slow", 1);
        // one in the window, two queued: the queue is full
        for (int i = 0; i < 3; i++) {
            assertEquals(200, broker.publish("slow", 1, "fill" + i).statusCode());
        }
        assertNotNull(arrived.poll(10, TimeUnit.SECONDS));
        HttpResponse<String> refused = broker.publish("slow", 1, "one too many");
        assertEquals(503, refused.statusCode(), refused.body());
        assertEquals("1", refused.headers().firstValue("retry-after").orElse(""));
        // QoS 0 never waits for room
        assertEquals(200, broker.publish("slow", 0, "qos0").statusCode());
        // once the stalled subscriber is gone, its queue no longer holds anyone back
        stalled.disconnectForcibly(0, 1000);
        long deadline = System.nanoTime() + WAIT.toNanos();
        int status;
        do {
            status = broker.publish("slow", 1, "later").statusCode();
        } while (status == 503 && System.nanoTime() < deadline && sleep());
        assertEquals(200, status);
    }

    private static boolean sleep() throws InterruptedException {
        Thread.sleep(50);
        return true;
    }

    @Test
    void badPublishesAreRefusedWithTheReason() throws Exception {
        broker = new FallbackBroker(b -> b.set(Settings.HTTP_MAX_CONTENT_LENGTH, 1024));
        assertEquals(400, broker.get("/publish?topic=a").statusCode() == 405 ? 400 : -1);
        assertEquals(400, broker.publish("a/+", 0, "x").statusCode());
        assertEquals(400, broker.publish("a", 2, "x").statusCode());
        assertEquals(403, broker.publish("$SYS/x", 0, "x").statusCode());
        var tooLarge = broker.publish("a", 0, false, new byte[2048], null);
        assertEquals(413, tooLarge.statusCode());
        var noTopic = SseClient.HTTP.send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(broker.http("/publish"))).POST(java.net.http.HttpRequest.BodyPublishers.ofString("x"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(400, noTopic.statusCode());
        assertTrue(noTopic.body().contains("topic"));
    }

    private Socket stompConnect() throws Exception {
        Socket s = new Socket("127.0.0.1", broker.sluice.port("stomp"));
        s.setSoTimeout(10_000);
        s.getOutputStream().write("CONNECT\naccept-version:1.2\nhost:x\n\n\0".getBytes(StandardCharsets.UTF_8));
        String connected = readFrame(s.getInputStream());
        assertTrue(connected.startsWith("CONNECTED"), connected);
        return s;
    }

    private Socket stompSubscriber(String destination) throws Exception {
        Socket s = stompConnect();
        OutputStream out = s.getOutputStream();
        out.write(("SUBSCRIBE\nid:0\ndestination:" + destination + "\nreceipt:s\n\n\0").getBytes(StandardCharsets.UTF_8));
        assertTrue(readFrame(s.getInputStream()).startsWith("RECEIPT"));
        return s;
    }

    /** One STOMP frame up to its NUL, heart-beat EOLs before it skipped. */
    private static String readFrame(InputStream in) throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1 && c != 0) {
            if (b.size() == 0 && (c == '\n' || c == '\r')) {
                continue;
            }
            b.write(c);
        }
        return b.toString(StandardCharsets.UTF_8);
    }
}
