package io.sluice.server.transport;

import io.netty.util.concurrent.EventExecutor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** How many event loops serve connections: the io-threads setting, or one per core by default. */
class EventLoopsTest {
    private static int workers(EventLoops loops) {
        int n = 0;
        for (EventExecutor ignored : loops.workers()) {
            n++;
        }
        return n;
    }

    @Test
    void theDefaultIsOneLoopPerCoreAndASettingDecides() {
        EventLoops byDefault = new EventLoops(0, false);
        EventLoops three = new EventLoops(3, false);
        try {
            int expected = Integer.getInteger("io.netty.eventLoopThreads", Runtime.getRuntime().availableProcessors());
            assertEquals(expected, workers(byDefault));
            assertEquals(3, workers(three));
        } finally {
            byDefault.shutdown();
            three.shutdown();
        }
    }
}
