package io.sluice.server.cluster;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A batch's body: each message with its groups, back as packed; a body that does not hold its count is refused. */
class LaneBatchTest {
    @Test
    void messagesComeBackAsPackedWithTheirGroups() {
        byte[] big = new byte[70_000];
        Arrays.fill(big, (byte) 7);
        List<LaneBatch.Entry> in = List.of(new LaneBatch.Entry(null, "a".getBytes(StandardCharsets.UTF_8)),
                new LaneBatch.Entry("Zw,*", new byte[0]), new LaneBatch.Entry("ü", big));
        List<LaneBatch.Entry> out = LaneBatch.unpack(LaneBatch.pack(in), 3);
        assertEquals(3, out.size());
        assertNull(out.get(0).groups());
        assertArrayEquals("a".getBytes(StandardCharsets.UTF_8), out.get(0).body());
        assertEquals("Zw,*", out.get(1).groups());
        assertEquals(0, out.get(1).body().length);
        assertEquals("ü", out.get(2).groups());
        assertArrayEquals(big, out.get(2).body());
    }

    @Test
    void aBodyThatDoesNotHoldItsCountIsRefused() {
        byte[] two = LaneBatch.pack(List.of(new LaneBatch.Entry(null, new byte[3]), new LaneBatch.Entry(null, new byte[3])));
        assertThrows(IllegalArgumentException.class, () -> LaneBatch.unpack(two, 3), "shorter");
        assertThrows(IllegalArgumentException.class, () -> LaneBatch.unpack(two, 1), "longer");
        assertThrows(IllegalArgumentException.class, () -> LaneBatch.unpack(two, 0), "none");
        assertThrows(IllegalArgumentException.class, () -> LaneBatch.unpack(new byte[] {0, 0, -1, -1, -1, -1}, 1),
                "a negative length");
    }
}
