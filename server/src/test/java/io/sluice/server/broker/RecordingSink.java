package io.sluice.server.broker;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A connection stand-in for core tests: its own thread, like an event loop, recording what it is sent. */
final class RecordingSink implements DeliverySink, AutoCloseable {
    final ExecutorService loop = Executors.newSingleThreadExecutor();
    final BlockingQueue<Delivery> sent = new LinkedBlockingQueue<>();
    final BlockingQueue<Delivery> released = new LinkedBlockingQueue<>();
    final BlockingQueue<CloseReason> closed = new LinkedBlockingQueue<>();
    volatile boolean writable = true;

    @Override
    public ExecutorService executor() {
        return loop;
    }

    @Override
    public boolean isWritable() {
        return writable;
    }

    @Override
    public void send(Delivery delivery) {
        sent.add(delivery);
    }

    @Override
    public void sendRelease(Delivery delivery) {
        released.add(delivery);
    }

    @Override
    public void flush() {
    }

    @Override
    public void close(CloseReason reason) {
        closed.add(reason);
    }

    Delivery next() throws InterruptedException {
        Delivery d = sent.poll(10, TimeUnit.SECONDS);
        if (d == null) {
            throw new AssertionError("no delivery within 10 s");
        }
        return d;
    }

    /** Run on the sink's thread and wait, as adapter code would run on its event loop. */
    <T> T onLoop(java.util.concurrent.Callable<T> task) throws Exception {
        return loop.submit(task).get(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        loop.shutdownNow();
    }
}
