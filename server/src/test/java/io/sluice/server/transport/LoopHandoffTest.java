package io.sluice.server.transport;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tasks handed from one real event loop to another: on the target's thread, in order, after the sender's iteration. */
class LoopHandoffTest {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final EventLoop from = group.next();
    private final EventLoop to = group.next();

    @AfterEach
    void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void tasksFromAnotherLoopRunOnTheTargetInOrderOnceTheSendersIterationEnds() throws Exception {
        assertNotSame(from, to);
        int n = 200;
        List<Object> ran = new ArrayList<>(); // only touched on the target loop
        List<Thread> threads = new ArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        from.execute(() -> {
            for (int i = 0; i < n; i++) {
                int k = i;
                LoopHandoff.execute(to, () -> {
                    ran.add(k);
                    threads.add(Thread.currentThread());
                    if (k == n - 1) {
                        done.countDown();
                    }
                });
            }
            // executed directly within the same iteration of the sender: it runs first, the handed tasks wait
            to.execute(() -> ran.add("direct"));
        });
        assertTrue(done.await(10, TimeUnit.SECONDS), "every handed task ran");
        List<Object> expected = new ArrayList<>();
        expected.add("direct");
        for (int i = 0; i < n; i++) {
            expected.add(i);
        }
        to.submit(() -> assertEquals(expected, ran)).sync();
        for (Thread t : threads) {
            assertTrue(to.inEventLoop(t), "ran on the target loop's thread");
        }
    }

    @Test
    void onTheTargetItselfOrOffTheLoopsATaskIsExecutedAtOnce() throws Exception {
        List<String> ran = new ArrayList<>();
        to.submit(() -> {
            LoopHandoff.execute(to, () -> ran.add("handed"));
            to.execute(() -> ran.add("direct")); // same loop: no waiting for the end of the iteration
        }).sync();
        to.submit(() -> { }).sync();
        CountDownLatch fromMain = new CountDownLatch(1);
        LoopHandoff.execute(to, () -> {
            ran.add("main");
            fromMain.countDown();
        });
        assertTrue(fromMain.await(10, TimeUnit.SECONDS));
        to.submit(() -> assertEquals(List.of("handed", "direct", "main"), ran)).sync();
    }

    /** The store's writer runs a commit's callbacks holding: what they hand to a loop goes once they all ran. */
    @Test
    void aThreadHoldingHandsItsTasksOverWhenItsBodyReturnsInOrder() throws Exception {
        int n = 100;
        List<Integer> ran = new java.util.concurrent.CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(n);
        List<Integer> seenInside = new ArrayList<>();
        LoopHandoff.holding(() -> {
            for (int i = 0; i < n; i++) {
                int k = i;
                LoopHandoff.execute(to, () -> {
                    ran.add(k);
                    done.countDown();
                });
            }
            // a direct task runs meanwhile: the handed ones are still held
            to.submit(() -> seenInside.addAll(ran)).syncUninterruptibly();
        });
        assertEquals(List.of(), seenInside, "nothing handed over before the body returned");
        assertTrue(done.await(10, TimeUnit.SECONDS), "every handed task ran");
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            expected.add(i);
        }
        assertEquals(expected, ran);
        // outside holding, a task from this thread is executed at once again
        CountDownLatch direct = new CountDownLatch(1);
        LoopHandoff.execute(to, direct::countDown);
        assertTrue(direct.await(10, TimeUnit.SECONDS));
    }
}
