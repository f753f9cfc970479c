package io.sluice.server.mqtt;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import io.sluice.server.config.Settings;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Deliveries handed from the publishers' event loops to the subscribers' (batched per iteration of the sender,
 * {@link io.sluice.server.transport.LoopHandoff}): with two loops, connections alternate between them, so
 * publishers on both loops reach subscribers on both. Every message arrives, each publisher's in the order it
 * was sent (MQTT 3.1.1 section 4.6), through a queue small enough that publishers are held and resumed. The
 * same with the loops' wake-ups coalesced at the default and at the longest nap ({@code --io-coalesce}, on epoll
 * and on NIO, whose wake-ups differ), where every hand-over and packet waits for a nap to end.
 */
class MqttCrossLoopDeliveryTest {
    @ParameterizedTest(name = "native transport {0}, io-coalesce {1} us")
    @CsvSource({"true, -1", "true, 10000", "false, 10000"})
    void pipelinedQos1FromPublishersOnBothLoopsArriveInEachPublishersOrder(boolean nativeTransport, int coalesce)
            throws Exception {
        Settings settings = MqttTestServer.tinyQueues(8, 16).with(Settings.IO_THREADS, 2)
                .with(Settings.NATIVE_TRANSPORT, nativeTransport);
        if (coalesce >= 0) {
            settings = settings.with(Settings.IO_COALESCE, coalesce);
        }
        try (MqttTestServer server = new MqttTestServer(settings)) {
            List<MqttClient> subs = new ArrayList<>();
            List<BlockingQueue<String>> got = new ArrayList<>();
            for (int s = 0; s < 2; s++) {
                MqttClient sub = new MqttClient(server.tcpUri(), "cross-sub-" + s, new MemoryPersistence());
                BlockingQueue<String> q = new LinkedBlockingQueue<>();
                sub.setCallback(MqttFlowsTest.collect(q));
                sub.connect();
                sub.subscribe("cross/#", 1);
                subs.add(sub);
                got.add(q);
            }
            int publishers = 4;
            int n = 200;
            List<Mqtt5AsyncClient> pubs = new ArrayList<>();
            List<CompletableFuture<?>> acks = new ArrayList<>();
            for (int p = 0; p < publishers; p++) {
                Mqtt5AsyncClient pub = Mqtt5Client.builder().identifier("cross-pub-" + p).serverHost("127.0.0.1")
                        .serverPort(server.port()).buildAsync();
                pub.connect().get(10, TimeUnit.SECONDS);
                pubs.add(pub);
            }
            for (int i = 0; i < n; i++) {
                for (int p = 0; p < publishers; p++) {
                    acks.add(pubs.get(p).publishWith().topic("cross/" + p).qos(MqttQos.AT_LEAST_ONCE)
                            .payload(Integer.toString(i).getBytes(StandardCharsets.UTF_8)).send());
                }
            }
            for (BlockingQueue<String> q : got) {
                Map<String, Integer> next = new HashMap<>();
                for (int k = 0; k < publishers * n; k++) {
                    String m = q.poll(20, TimeUnit.SECONDS);
                    assertNotNull(m, "message " + k + " of " + publishers * n + " arrived");
                    String[] parts = m.split(" ");
                    int expected = next.getOrDefault(parts[0], 0);
                    assertEquals(expected, Integer.parseInt(parts[1]), "in " + parts[0] + "'s order, none lost");
                    next.put(parts[0], expected + 1);
                }
            }
            CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
            for (MqttClient sub : subs) {
                sub.disconnect();
                sub.close();
            }
            for (Mqtt5AsyncClient pub : pubs) {
                pub.disconnect().get(10, TimeUnit.SECONDS);
            }
        }
    }
}
