package io.sluice.server.security;

import io.sluice.server.broker.Authorizer;
import io.sluice.server.broker.TopicAccess;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An ACL file in Mosquitto's {@code acl_file} format, so existing rule sets move unchanged:
 * <pre>
 *   # lines before any 'user' line apply to anonymous clients
 *   topic read public/#
 *   user alice
 *   topic readwrite alice/#
 *   topic deny alice/secret
 *   # every client, with %c its client id and %u its user name
 *   pattern write devices/%c/up
 * </pre>
 * {@code topic [read|write|readwrite|deny] FILTER} (readwrite when the access is left out; the filter is the
 * rest of the line and may hold spaces). A pattern is skipped for a client whose id or user name holds '+', '#'
 * or '/', which would otherwise widen it. Parsed once per (re)load, never on the publish path.
 */
public final class AclFile implements Authorizer {
    private final List<AclRules.Rule> anonymous;
    private final Map<String, List<AclRules.Rule>> users;
    private final List<AclRules.Rule> patterns;
    /**
     * One rule set per user of the file (and one for anonymous clients, one for users it does not name) when no
     * pattern applies, so their clients share one cache; bounded by the file, whatever names clients give.
     */
    private final Map<String, AclRules> shared = new java.util.concurrent.ConcurrentHashMap<>();
    private static final String ANONYMOUS = "\0anonymous";
    private static final String UNLISTED = "\0unlisted";

    private AclFile(List<AclRules.Rule> anonymous, Map<String, List<AclRules.Rule>> users, List<AclRules.Rule> patterns) {
        this.anonymous = anonymous;
        this.users = users;
        this.patterns = patterns;
    }

    /** Read and parse; a bad line throws naming the file, the line number and what is wrong. */
    public static AclFile read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("--acl-file: cannot read " + file + ": " + e.getMessage());
        }
        return parse(lines, file.toString());
    }

    static AclFile parse(List<String> lines, String source) {
        List<AclRules.Rule> anonymous = new ArrayList<>();
        Map<String, List<AclRules.Rule>> users = new HashMap<>();
        List<AclRules.Rule> patterns = new ArrayList<>();
        List<AclRules.Rule> section = anonymous;
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] words = line.split("\\s+", 2);
            String rest = words.length > 1 ? words[1].strip() : "";
            switch (words[0]) {
                case "user" -> {
                    if (rest.isEmpty()) {
                        throw bad(source, n, "'user' needs a user name");
                    }
                    section = users.computeIfAbsent(rest, u -> new ArrayList<>());
                }
                case "topic" -> section.add(rule(rest, source, n));
                case "pattern" -> patterns.add(rule(rest, source, n));
                default -> throw bad(source, n, "unknown keyword '" + words[0] + "' (expected user, topic or pattern)");
            }
        }
        return new AclFile(anonymous, users, patterns);
    }

    private static AclRules.Rule rule(String rest, String source, int n) {
        String[] words = rest.split("\\s+", 2);
        AclRules.Access access = AclRules.Access.parse(words[0]);
        String filter = access == null ? rest : (words.length > 1 ? words[1].strip() : "");
        if (filter.isEmpty()) {
            throw bad(source, n, "a rule needs a topic filter: topic [read|write|readwrite|deny] FILTER");
        }
        return new AclRules.Rule(access == null ? AclRules.Access.READWRITE : access, filter);
    }

    private static IllegalArgumentException bad(String source, int n, String why) {
        return new IllegalArgumentException("--acl-file " + source + " line " + (n + 1) + ": " + why);
    }

    @Override
    public TopicAccess access(String clientId, String user) {
        if (patterns.isEmpty()) {
            String key = user == null ? ANONYMOUS : users.containsKey(user) ? user : UNLISTED;
            return shared.computeIfAbsent(key,
                    k -> new AclRules(user == null ? anonymous : users.getOrDefault(user, List.of())));
        }
        List<AclRules.Rule> rules = new ArrayList<>(user == null ? anonymous : users.getOrDefault(user, List.of()));
        for (AclRules.Rule p : patterns) {
            String text = p.pattern().text();
            if (text.contains("%u") && (user == null || unsafe(user))) {
                continue;
            }
            if (text.contains("%c") && (clientId == null || unsafe(clientId))) {
                continue;
            }
            String filter = text.replace("%u", user == null ? "" : user).replace("%c", clientId == null ? "" : clientId);
            rules.add(new AclRules.Rule(p.access(), filter));
        }
        return new AclRules(rules);
    }

    private static boolean unsafe(String value) {
        return value.indexOf('+') >= 0 || value.indexOf('#') >= 0 || value.indexOf('/') >= 0;
    }

    /** Rules in the file, for the start-up log line. */
    public int size() {
        return anonymous.size() + patterns.size() + users.values().stream().mapToInt(List::size).sum();
    }
}
