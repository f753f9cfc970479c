package io.sluice.server.security;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Per-client publish rate and bandwidth: a second's burst, then reads pause; nothing is dropped. */
class PublishRateTest {
    @Test
    void theBucketsAllowASecondsWorthThenAskForExactlyTheMissingTime() {
        AtomicLong now = new AtomicLong();
        PublishRate messages = new PublishRate(10, 0, now::get);
        for (int i = 0; i < 10; i++) {
            assertEquals(0, messages.take(1_000_000), "message " + i + " of the burst");
        }
        assertEquals(100_000_000, messages.take(1), 1_000, "the 11th waits a tenth of a second");
        now.addAndGet(2_000_000_000L);
        assertEquals(0, messages.take(1), "refilled, but never past a second's worth");

        PublishRate bandwidth = new PublishRate(0, 1000, now::get);
        assertEquals(0, bandwidth.take(500));
        assertEquals(0, bandwidth.take(500));
        assertEquals(500_000_000, bandwidth.take(500), 1_000);
        now.addAndGet(250_000_000L);
        assertEquals(750_000_000, bandwidth.take(500), 1_000, "the debt adds up");
    }

    @Test
    void aFastPublisherIsSlowedToTheRateAndLosesNothing() throws Exception {
        int rate = 100;
        int count = 300;
        try (SluiceServer server = SluiceServer.start(Settings.defaults().with(Settings.BIND, "127.0.0.1")
                .with(Settings.MQTT_PORT, 0).with(Settings.HTTP_PORT, -1).with(Settings.STOMP_PORT, -1)
                .with(Settings.MAX_PUBLISH_RATE, rate))) {
            Mqtt5BlockingClient sub = Mqtt5Client.builder().identifier("reader").serverHost("127.0.0.1")
                    .serverPort(server.port("mqtt")).buildBlocking();
            sub.connect();
            AtomicInteger received = new AtomicInteger();
            sub.toAsync().subscribeWith().topicFilter("fast/#").qos(MqttQos.AT_LEAST_ONCE)
                    .callback(p -> received.incrementAndGet()).send().get(10, TimeUnit.SECONDS);
            Mqtt5AsyncClient pub = Mqtt5Client.builder().identifier("fast").serverHost("127.0.0.1")
                    .serverPort(server.port("mqtt")).buildAsync();
            pub.connect().get(10, TimeUnit.SECONDS);
            long start = System.nanoTime();
            List<CompletableFuture<?>> acks = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                acks.add(pub.publishWith().topic("fast/" + i).qos(MqttQos.AT_LEAST_ONCE).payload(new byte[10]).send());
            }
            CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            double seconds = (System.nanoTime() - start) / 1e9;
            // a second's burst, then the rate: at least (count - rate) / rate seconds, however fast the machine
            assertTrue(seconds >= (count - rate) / (double) rate * 0.9, "took only " + seconds + " s");
            AccessControlTest.awaitTrue(() -> received.get() == count);
            pub.disconnect().get(10, TimeUnit.SECONDS);
            sub.disconnect();
        }
    }
}
