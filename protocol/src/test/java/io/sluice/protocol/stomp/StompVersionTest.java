package io.sluice.protocol.stomp;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class StompVersionTest {
    @Test
    void negotiation() {
        assertEquals(Optional.of(StompVersion.V1_0), StompVersion.negotiate(null, null));
        assertEquals(Optional.of(StompVersion.V1_2), StompVersion.negotiate("1.0,1.1,1.2", null));
        assertEquals(Optional.of(StompVersion.V1_1), StompVersion.negotiate("1.1,1.2", StompVersion.V1_1));
        assertEquals(Optional.of(StompVersion.V1_2), StompVersion.negotiate("1.2", StompVersion.V1_0));
        assertEquals(Optional.empty(), StompVersion.negotiate("2.0,3.0", null));
    }

    @Test
    void headerEncodingPerVersion() {
        String decoded = "a:b\nc\\d\re";
        assertEquals(decoded, StompVersion.V1_2.fromDecoded(decoded));
        assertThrows(IllegalArgumentException.class, () -> StompVersion.V1_1.fromDecoded(decoded));
        assertEquals("a:b\nc\\d", StompVersion.V1_1.fromDecoded("a:b\nc\\d"));
        assertEquals("a\\cb\\nc\\\\d\\re", StompVersion.V1_0.fromDecoded(decoded));
        assertEquals("a:b\nc\\de", StompVersion.V1_1.toEncodable(decoded));
        assertEquals(decoded, StompVersion.V1_2.toEncodable(decoded));
    }
}
