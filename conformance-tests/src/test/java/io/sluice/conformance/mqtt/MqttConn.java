package io.sluice.conformance.mqtt;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** One open client connection; messages it receives queue up in arrival order for {@link #next}. */
public abstract class MqttConn {
    public static final long TIMEOUT_SECONDS = 15;

    /** A received PUBLISH. */
    public record Msg(String topic, String payload, int qos, boolean retain) {
    }

    private final BlockingQueue<Msg> inbox = new LinkedBlockingQueue<>();

    protected void received(String topic, byte[] payload, int qos, boolean retain) {
        inbox.add(new Msg(topic, new String(payload, StandardCharsets.UTF_8), qos, retain));
    }

    public Msg next(String what) throws InterruptedException {
        Msg m = inbox.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        if (m == null) {
            throw new AssertionError("no message within " + TIMEOUT_SECONDS + " s: " + what);
        }
        return m;
    }

    public abstract boolean sessionPresent();

    /** SUBSCRIBE and wait for the SUBACK; fails unless the requested QoS is granted. */
    public abstract void subscribe(String filter, int qos) throws Exception;

    /** PUBLISH and wait for its flow to complete (PUBACK, PUBCOMP; written, at QoS 0). */
    public abstract void publish(String topic, byte[] payload, int qos, boolean retain) throws Exception;

    public void publish(String topic, String payload, int qos, boolean retain) throws Exception {
        publish(topic, payload.getBytes(StandardCharsets.UTF_8), qos, retain);
    }

    public abstract boolean connected();

    /** A normal DISCONNECT, then the client's resources released. */
    public abstract void disconnect() throws Exception;

    /** Releases the client's resources after the connection was lost (no DISCONNECT is sent). */
    public abstract void release();
}
