package io.sluice.protocol.topic;

import java.util.ArrayList;
import java.util.List;

/** Splits topics and filters at '/', keeping empty levels ("a//b" has three levels, "/a" two). */
public final class TopicLevels {
    private TopicLevels() {
    }

    public static String[] split(String topic) {
        List<String> levels = new ArrayList<>(8);
        int start = 0;
        for (int i = 0; i < topic.length(); i++) {
            if (topic.charAt(i) == '/') {
                levels.add(topic.substring(start, i));
                start = i + 1;
            }
        }
        levels.add(topic.substring(start));
        return levels.toArray(new String[0]);
    }

    public static int count(String topic) {
        int n = 1;
        for (int i = 0; i < topic.length(); i++) {
            if (topic.charAt(i) == '/') {
                n++;
            }
        }
        return n;
    }
}
