package io.sluice.server.mqtt;

import java.util.HashMap;
import java.util.Map;

/**
 * Topic aliases the broker sets towards one MQTT 5 client (section 3.3.2.3.4), at most the client's Topic
 * Alias Maximum. The first topics delivered take the aliases and keep them for the connection; later topics go
 * out in full. The mapping lives and dies with the connection, as the spec requires.
 */
final class OutboundTopicAliases {
    private final int maximum;
    /** Made on the first alias set: most clients allow none, and every connection has one of these. */
    private Map<String, Integer> aliases;

    OutboundTopicAliases(int maximum) {
        this.maximum = maximum;
    }

    /** The alias already set for this topic, or 0. */
    int existing(String topic) {
        if (maximum == 0) {
            return 0;
        }
        Integer a = aliases == null ? null : aliases.get(topic);
        return a == null ? 0 : a;
    }

    /** The alias this topic would get if it were set now, or 0 when none is left. */
    int next() {
        int used = aliases == null ? 0 : aliases.size();
        return used < maximum ? used + 1 : 0;
    }

    /** Record that {@code alias} was sent together with {@code topic}, so later deliveries may omit the topic. */
    void set(String topic, int alias) {
        if (aliases == null) {
            aliases = new HashMap<>();
        }
        aliases.put(topic, alias);
    }
}
