package io.sluice.server.ops;

import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5Client;
import com.hivemq.client.mqtt.mqtt5.exceptions.Mqtt5ConnAckException;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck;
import com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAckReasonCode;
import io.netty.channel.Channel;
import io.netty.channel.DefaultEventLoopGroup;
import io.sluice.server.BrokerProcess;
import io.sluice.server.config.Settings;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Adaptive admission: new connections are refused at accept while the I/O threads run later than
 * {@code overload-lag}, each in its protocol's words and off the I/O threads, operators' HTTP requests still
 * served, and admitted again once they catch up; with no fixed rate (the default) nothing else refuses them.
 */
class OverloadAdmissionTest {

    @Test
    void overloadedJustPastTheLagLimitAndNotAtIt() {
        AtomicLong lag = new AtomicLong();
        long limit = TimeUnit.MILLISECONDS.toNanos(500);
        Admission a = new Admission(100, 0, 0, 1, System::nanoTime, lag::get, limit);
        lag.set(limit);
        assertFalse(a.overloaded(), "at the limit");
        lag.set(limit + 1);
        assertTrue(a.overloaded(), "past the limit");
        assertNull(a.admit(null), "with no fixed rate, nothing but the gate at accept refuses for load");
        Admission never = new Admission(100, 0, 0, 1, System::nanoTime, lag::get, 0);
        lag.set(Long.MAX_VALUE);
        assertFalse(never.overloaded(), "overload-lag 0: never");
    }

    /** A loop held busy past the window counts as late at once; free again, as soon as a probe runs on time. */
    @Test
    void theLagOfABusyLoopShowsWhileItIsBusyAndGoesWhenItIsFree() throws Exception {
        DefaultEventLoopGroup loops = new DefaultEventLoopGroup(2);
        try (EventLoopLag lag = new EventLoopLag(loops, 20, 200)) {
            CountDownLatch release = new CountDownLatch(1);
            loops.next().execute(() -> {
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            awaitLag(lag, true, TimeUnit.MILLISECONDS.toNanos(300));
            release.countDown();
            awaitLag(lag, false, TimeUnit.MILLISECONDS.toNanos(300));
        } finally {
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /**
     * A pause of the whole process is not a late loop: the broker (its own process, default settings) is stopped
     * with SIGSTOP for 4 s, longer than the lag window, as a long collection or a frozen virtual machine would hold
     * it, and a client connects meanwhile (its socket waits in the listen backlog, its CONNECT in the kernel's
     * buffer). Accepted the moment the process resumes, while every loop's probe is 4 s overdue, it is admitted,
     * not answered "server busy": the lag's own clock thread was held just as long. (A loop held while the rest of
     * the process runs still counts as late: the two tests above.)
     */
    @Test
    void aPauseOfTheWholeProcessIsNotOverload(@TempDir Path dir) throws Exception {
        try (BrokerProcess broker = BrokerProcess.start(dir.resolve("broker.log"), "--mqtt-port", "0",
                "--http-port", "-1", "--stomp-port", "-1", "--sys-interval", "0")) {
            int port = broker.port("mqtt");
            // one connection first, so what the resumed broker does is admission, not loading its first classes
            Mqtt5BlockingClient first = Mqtt5Client.builder().identifier("before").serverHost("127.0.0.1")
                    .serverPort(port).buildBlocking();
            first.connect();
            first.disconnect();

            CompletableFuture<Mqtt5ConnAck> connect;
            signal("STOP", broker.pid());
            try {
                connect = Mqtt5Client.builder().identifier("during").serverHost("127.0.0.1").serverPort(port)
                        .buildAsync().connect();
                Thread.sleep(4000); // the pause itself: past the 3 s window, so every loop's probe is overdue
            } finally {
                signal("CONT", broker.pid());
            }
            Mqtt5ConnAck ack;
            try {
                ack = connect.get(20, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                throw new AssertionError("the CONNECT sent during the pause was refused once it ended: " + e.getCause(), e);
            }
            assertEquals(Mqtt5ConnAckReasonCode.SUCCESS, ack.getReasonCode());
            assertFalse(broker.log().contains("overloaded"), broker.log());
        }
    }

    private static void signal(String signal, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -" + signal + " " + pid);
    }

    private static void awaitLag(EventLoopLag lag, boolean above, long threshold) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while ((lag.nanos() > threshold) != above) {
            assertTrue(System.nanoTime() < deadline, "lag " + lag.nanos() / 1_000_000 + " ms never went "
                    + (above ? "above " : "below ") + threshold / 1_000_000 + " ms");
            Thread.sleep(10);
        }
    }

    /**
     * A real broker with one I/O thread, held busy as a storm would hold it: every protocol's new socket is refused
     * in its own words from the refusal thread (the held thread never sees it): MQTT 5 CONNACK 0x89 server busy,
     * MQTT 3.1.1 return code 3 server unavailable, a STOMP ERROR frame; the HTTP port keeps serving operators
     * (health, metrics) and refuses WebSocket upgrades with 503 and Retry-After; once the thread catches up,
     * clients are admitted again.
     */
    @Test
    void anOverloadedBrokerRefusesEachProtocolInItsWordsAndStillAnswersOperators() throws Exception {
        try (OpsTestServer server = new OpsTestServer(Settings.defaults().with(Settings.SYS_INTERVAL, 0L)
                .with(Settings.IO_THREADS, 1).with(Settings.OVERLOAD_LAG, 200L))) {
            Mqtt5BlockingClient first = Mqtt5Client.builder().identifier("first").serverHost("127.0.0.1")
                    .serverPort(server.mqttPort()).buildBlocking();
            first.connect();
            Channel busy = server.server.connections().iterator().next();
            CountDownLatch release = new CountDownLatch(1);
            // the one I/O thread is held as a storm would hold it (a test may do what the broker must not)
            busy.eventLoop().execute(() -> {
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            CompletableFuture<HttpResponse<String>> health;
            CompletableFuture<WebSocket> upgrade;
            try {
                // held past the lag window, the thread counts as late: the next CONNECT is answered "server busy"
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (true) {
                    Mqtt5BlockingClient c = Mqtt5Client.builder().identifier("shed").serverHost("127.0.0.1")
                            .serverPort(server.mqttPort()).buildBlocking();
                    Throwable refused = null;
                    try {
                        c.toAsync().connect().get(3, TimeUnit.SECONDS);
                    } catch (ExecutionException e) {
                        refused = e.getCause();
                    } catch (TimeoutException e) {
                        refused = null; // accepted onto the held thread: not refused yet
                    }
                    if (refused != null) {
                        Mqtt5ConnAckException connAck = assertInstanceOf(Mqtt5ConnAckException.class, refused);
                        assertEquals(Mqtt5ConnAckReasonCode.SERVER_BUSY, connAck.getMqttMessage().getReasonCode());
                        break;
                    }
                    assertTrue(System.nanoTime() < deadline, "never refused while the I/O thread was held");
                }

                MqttClient paho = new MqttClient(server.mqttUri(), "shed-311", new MemoryPersistence());
                MqttConnectOptions v311 = new MqttConnectOptions();
                v311.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
                v311.setConnectionTimeout(10);
                MqttException e311 = assertThrows(MqttException.class, () -> paho.connect(v311));
                assertEquals(MqttException.REASON_CODE_BROKER_UNAVAILABLE, e311.getReasonCode(), e311.toString());
                paho.close();

                try (Socket stomp = new Socket("127.0.0.1", server.stompPort())) {
                    stomp.setSoTimeout(20_000);
                    stomp.getOutputStream().write("CONNECT\naccept-version:1.2\nhost:sluice\n\n\0".getBytes(StandardCharsets.UTF_8));
                    String error = new String(stomp.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    assertTrue(error.startsWith("ERROR\n") && error.contains("server busy"), error);
                }

                // accepted while overloaded (marked on the acceptor thread), answered once the thread gets to them
                long shedBefore = server.ops.admission().shedThisEpisode();
                HttpClient http = HttpClient.newHttpClient();
                health = http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort() + "/healthz"))
                        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
                upgrade = HttpClient.newHttpClient().newWebSocketBuilder().subprotocols("mqtt")
                        .buildAsync(URI.create("ws://127.0.0.1:" + server.httpPort() + "/mqtt"), new WebSocket.Listener() { });
                long acceptedBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (server.ops.admission().shedThisEpisode() < shedBefore + 2) {
                    assertTrue(System.nanoTime() < acceptedBy, "the HTTP sockets were never accepted");
                    Thread.sleep(10);
                }
            } finally {
                release.countDown();
            }
            assertEquals(200, health.get(30, TimeUnit.SECONDS).statusCode(), "operators are answered");
            ExecutionException refusedUpgrade = assertThrows(ExecutionException.class, () -> upgrade.get(30, TimeUnit.SECONDS));
            HttpResponse<?> answer = assertInstanceOf(WebSocketHandshakeException.class, refusedUpgrade.getCause()).getResponse();
            assertEquals(503, answer.statusCode());
            assertTrue(answer.headers().firstValue("Retry-After").isPresent(), "Retry-After tells when to come back");

            // caught up: admitted again (polled: the lag falls as soon as a probe runs on time)
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (true) {
                try {
                    Mqtt5Client.builder().identifier("after").serverHost("127.0.0.1").serverPort(server.mqttPort())
                            .buildBlocking().connect();
                    break;
                } catch (RuntimeException e) {
                    assertTrue(System.nanoTime() < deadline, "never admitted again: " + e);
                    Thread.sleep(50);
                }
            }
            // every refusal counted: MQTT 5, MQTT 3.1.1, STOMP and the upgrade
            assertTrue(Scrape.of(server.httpPort()).value("sluice_connections_refused_total", "reason", "overloaded") >= 4);
        }
    }
}
