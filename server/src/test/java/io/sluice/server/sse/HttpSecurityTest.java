package io.sluice.server.sse;

import io.sluice.server.config.Settings;
import io.sluice.server.security.PasswordFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

import static io.sluice.server.sse.FallbackBroker.WAIT;
import static io.sluice.server.sse.FallbackBroker.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The password file and ACL file apply to /sse, /poll and /publish as they do to MQTT and STOMP. */
class HttpSecurityTest {
    @TempDir
    Path dir;
    private FallbackBroker broker;

    @BeforeEach
    void start() throws Exception {
        Path passwords = dir.resolve("passwd");
        Files.write(passwords, List.of("alice:" + PasswordFile.hash("wonderland".toCharArray())));
        Path acl = dir.resolve("acl");
        Files.write(acl, List.of("user alice", "topic readwrite alice/#", "topic read news/#", "topic deny alice/secret/#"));
        broker = new FallbackBroker(b -> b.set(Settings.PASSWORD_FILE, passwords).set(Settings.ACL_FILE, acl)
                .set(Settings.ALLOW_ANONYMOUS, false));
    }

    @AfterEach
    void stop() {
        broker.close();
    }

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private HttpResponse<String> send(String method, String pathAndQuery, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(broker.http(pathAndQuery))).timeout(WAIT)
                .method(method, method.equals("POST") ? HttpRequest.BodyPublishers.ofString("x")
                        : HttpRequest.BodyPublishers.noBody());
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return SseClient.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void everyPathWantsCredentialsAndRefusesWrongOnes() throws Exception {
        for (String[] call : new String[][] {{"GET", "/sse?filter=alice/%23"}, {"GET", "/poll?filter=alice/%23"},
                {"POST", "/publish?topic=alice/x"}}) {
            HttpResponse<String> none = send(call[0], call[1], null);
            assertEquals(401, none.statusCode(), call[1]);
            assertTrue(none.headers().firstValue("www-authenticate").orElse("").startsWith("Basic"));
            assertEquals(401, send(call[0], call[1], basic("alice", "wrong")).statusCode(), call[1]);
            assertEquals(401, send(call[0], call[1], basic("mallory", "x")).statusCode(), call[1]);
        }
        assertEquals(200, send("POST", "/publish?topic=alice/x", basic("alice", "wonderland")).statusCode());
        assertEquals(200, send("GET", "/poll?filter=alice/%23", basic("alice", "wonderland")).statusCode());
    }

    @Test
    void theAclDecidesWhatMayBeReadAndPublished() throws Exception {
        String alice = basic("alice", "wonderland");
        assertEquals(403, send("POST", "/publish?topic=news/today", alice).statusCode());
        assertEquals(403, send("POST", "/publish?topic=alice/secret/x", alice).statusCode());
        assertEquals(403, send("GET", "/poll?filter=bob/%23", alice).statusCode());
        assertEquals(403, send("GET", "/sse?filter=bob/%23", alice).statusCode());
        // a wildcard reader receives only the topics it may read, retained, replayed and live alike
        assertEquals(200, send("POST", "/publish?topic=alice/open&retain=true", alice).statusCode());
        assertEquals(403, send("POST", "/publish?topic=alice/secret/s&retain=true", alice).statusCode());
        try (SseClient sse = SseClient.open(broker.http("/sse?filter=%23"), null, alice)) {
            assertEquals(200, sse.response.statusCode());
            assertEquals("alice/open", json(sse.next(WAIT)).get("topic").asText());
            assertEquals(200, send("POST", "/publish?topic=alice/live", alice).statusCode());
            assertEquals("alice/live", json(sse.next(WAIT)).get("topic").asText());
        }
    }
}
