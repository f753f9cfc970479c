package io.sluice.server.ops;

import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5DisconnectException;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode;
import io.sluice.server.Main;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The real process under QoS 1 traffic gets SIGTERM: it drains, says goodbye with 0x8B and exits with 0. */
class SigtermDrainTest {
    private static final Pattern MQTT_PORT = Pattern.compile(".*mqtt=127\\.0\\.0\\.1:(\\d+).*");

    @Test
    void sigtermDuringQos1TrafficExitsZeroAndLosesNothingAcknowledged() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "--bind", "127.0.0.1", "--mqtt-port", "0", "--http-port", "0", "--stomp-port", "0",
                "--log-level", "warn", "--shutdown-drain", "20s", "--persistence", "none")
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
            assertNotNull(line, "no ready line");
            Matcher m = MQTT_PORT.matcher(line);
            assertTrue(m.matches(), line);
            int port = Integer.parseInt(m.group(1));

            Set<Integer> received = ConcurrentHashMap.newKeySet();
            AtomicReference<Throwable> cause = new AtomicReference<>();
            CountDownLatch gone = new CountDownLatch(1);
            Mqtt5AsyncClient sub = Mqtt5Client.builder().identifier("sigterm-sub").serverHost("127.0.0.1")
                    .serverPort(port).addDisconnectedListener(ctx -> {
                        cause.set(ctx.getCause());
                        gone.countDown();
                    }).buildAsync();
            sub.connect().get(20, TimeUnit.SECONDS);
            sub.subscribeWith().topicFilter("sigterm/#").qos(MqttQos.AT_LEAST_ONCE)
                    .callback(msg -> received.add(ByteBuffer.wrap(msg.getPayloadAsBytes()).getInt()))
                    .send().get(20, TimeUnit.SECONDS);
            Mqtt5AsyncClient pub = Mqtt5Client.builder().identifier("sigterm-pub").serverHost("127.0.0.1")
                    .serverPort(port).buildAsync();
            pub.connect().get(20, TimeUnit.SECONDS);

            Set<Integer> acknowledged = ConcurrentHashMap.newKeySet();
            CountDownLatch flowing = new CountDownLatch(300);
            for (int i = 0; i < 5000; i++) {
                int n = i;
                pub.publishWith().topic("sigterm/" + (n % 5)).qos(MqttQos.AT_LEAST_ONCE)
                        .payload(ByteBuffer.allocate(4).putInt(0, n)).send()
                        .whenComplete((result, error) -> {
                            if (error == null && result.getError().isEmpty()) {
                                acknowledged.add(n);
                                flowing.countDown();
                            }
                        });
            }
            assertTrue(flowing.await(60, TimeUnit.SECONDS), "QoS 1 traffic flowing");
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "still running 60 s after SIGTERM");
            assertEquals(0, p.exitValue());

            assertTrue(gone.await(20, TimeUnit.SECONDS));
            Mqtt5DisconnectException bye = assertInstanceOf(Mqtt5DisconnectException.class, cause.get());
            assertEquals(Mqtt5DisconnectReasonCode.SERVER_SHUTTING_DOWN, bye.getMqttMessage().getReasonCode());
            Set<Integer> lost = new TreeSet<>(acknowledged);
            lost.removeAll(received);
            assertTrue(lost.isEmpty(), lost.size() + " of " + acknowledged.size() + " acknowledged messages lost, e.g. "
                    + lost.stream().limit(10).toList());
        } finally {
            p.destroyForcibly();
        }
    }
}
