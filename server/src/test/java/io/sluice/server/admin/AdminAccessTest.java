package io.sluice.server.admin;

import io.sluice.server.SluiceServer;
import io.sluice.server.config.Settings;
import io.sluice.server.security.PasswordFile;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Only loopback clients reach the admin API; browsers elsewhere cannot change anything through it. */
class AdminAccessTest {
    private static final List<String> PATHS = List.of("/api/v1/summary", "/api/v1/connections", "/api/v1/sessions",
            "/api/v1/subscriptions", "/api/v1/retained", "/api/v1/topics", "/api/v1/settings", "/api/v1/refusals",
            "/api/v1/feed");

    private static Settings settings() {
        return Settings.defaults().with(Settings.MQTT_PORT, 0).with(Settings.HTTP_PORT, 0).with(Settings.STOMP_PORT, -1)
                .with(Settings.SYS_INTERVAL, 0L);
    }

    /** A request over a raw socket from {@code local} (bound there) to {@code target}; the status line's code. */
    private static int status(InetAddress local, InetSocketAddress target, String method, String path) throws Exception {
        return status(local, target, method, path, null);
    }

    private static int status(InetAddress local, InetSocketAddress target, String method, String path, String user)
            throws Exception {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(local, 0));
            s.connect(target, 10_000);
            s.setSoTimeout(20_000);
            s.getOutputStream().write((method + " " + path + " HTTP/1.1\r\nHost: " + target.getHostString() + ":"
                    + target.getPort() + "\r\n" + (user == null ? "" : "Authorization: " + basic(user, user + "-secret") + "\r\n")
                    + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            for (int b = in.read(); b != -1 && b != '\n'; b = in.read()) {
                line.write(b);
            }
            String status = line.toString(StandardCharsets.US_ASCII);
            assertTrue(status.startsWith("HTTP/1.1 "), status);
            return Integer.parseInt(status.substring(9, 12));
        }
    }

    private static InetAddress nonLoopbackAddress() throws Exception {
        for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!nif.isUp() || nif.isLoopback()) {
                continue;
            }
            for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                if (a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress()) {
                    return a;
                }
            }
        }
        return null;
    }

    @Test
    void aClientFromAnotherAddressIsRefusedOnEveryPathWhileLoopbackIsServed() throws Exception {
        InetAddress outside = nonLoopbackAddress();
        Assumptions.assumeTrue(outside != null, "this machine has no non-loopback IPv4 address to connect from");
        try (SluiceServer server = SluiceServer.start(settings().with(Settings.BIND, "0.0.0.0")
                .with(Settings.ALLOW_ANONYMOUS, true))) {
            int port = server.port("http");
            for (String path : PATHS) {
                assertEquals(403, status(outside, new InetSocketAddress(outside, port), "GET", path), path);
            }
            assertEquals(403, status(outside, new InetSocketAddress(outside, port), "DELETE", "/api/v1/connections/1"));
            InetAddress loopback = InetAddress.getLoopbackAddress();
            assertEquals(200, status(loopback, new InetSocketAddress(loopback, port), "GET", "/api/v1/summary"));
        }
    }

    @Test
    void switchedOffTheApiRefusesEvenLoopback() throws Exception {
        try (SluiceServer server = SluiceServer.start(settings().with(Settings.BIND, "127.0.0.1")
                .with(Settings.ADMIN_API, "off"))) {
            AdminHttp api = new AdminHttp(server.port("http"));
            for (String path : PATHS) {
                AdminHttp.Answer a = api.get(path);
                assertEquals(403, a.status(), path);
                assertTrue(a.body().path("error").asText().contains("--admin-api"), a.body().toString());
            }
        }
    }

    @Test
    void aChangeFromAPageOfAnotherOriginIsRefused() throws Exception {
        try (SluiceServer server = SluiceServer.start(settings().with(Settings.BIND, "127.0.0.1"))) {
            int port = server.port("http");
            AdminHttp api = new AdminHttp(port);
            String url = "http://127.0.0.1:" + port + "/api/v1/retained?topic=a/b";
            AdminHttp.Answer foreign = api.send(HttpRequest.newBuilder(URI.create(url)).DELETE()
                    .header("Origin", "http://attacker.example"));
            assertEquals(403, foreign.status());
            AdminHttp.Answer own = api.send(HttpRequest.newBuilder(URI.create(url)).DELETE()
                    .header("Origin", "http://127.0.0.1:" + port));
            assertEquals(404, own.status(), "allowed through, and there is no such retained message");
            assertEquals(200, api.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/summary"))
                    .GET().header("Origin", "http://attacker.example")).status(), "reading is not a change");
        }
    }

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** A password file made now: alice and bob, each with the password NAME-secret. */
    private static Path passwords() throws Exception {
        Path file = Files.createTempFile("sluice-admin-passwords", ".txt");
        file.toFile().deleteOnExit();
        Files.writeString(file, "alice:" + PasswordFile.hash("alice-secret".toCharArray()) + "\n"
                + "bob:" + PasswordFile.hash("bob-secret".toCharArray()) + "\n");
        return file;
    }

    @Test
    void withAuthenticationOnlyAnAdminUserIsServedEvenOnLoopback() throws Exception {
        try (SluiceServer server = SluiceServer.start(settings().with(Settings.BIND, "127.0.0.1")
                .with(Settings.PASSWORD_FILE, passwords()).with(Settings.ADMIN_USERS, List.of("alice")))) {
            int port = server.port("http");
            AdminHttp api = new AdminHttp(port);
            String url = "http://127.0.0.1:" + port + "/api/v1/summary";
            AdminHttp.Answer none = api.get("/api/v1/summary");
            assertEquals(401, none.status(), "no credentials");
            AdminHttp.Answer wrong = api.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", basic("alice", "guess")));
            assertEquals(401, wrong.status(), "a wrong password");
            AdminHttp.Answer garbage = api.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Basic !!!"));
            assertEquals(401, garbage.status(), "an unreadable header");
            AdminHttp.Answer notAdmin = api.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", basic("bob", "bob-secret")));
            assertEquals(403, notAdmin.status(), "a user without the admin role");
            assertTrue(notAdmin.body().path("error").asText().contains("--admin-users"), notAdmin.body().toString());
            AdminHttp.Answer admin = api.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", basic("alice", "alice-secret")));
            assertEquals(200, admin.status());
            assertEquals(403, api.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/connections/1"))
                    .DELETE().header("Authorization", basic("bob", "bob-secret"))).status(), "nor can bob change anything");
            java.net.http.HttpResponse<String> challenge = java.net.http.HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create(url)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertTrue(challenge.headers().firstValue("www-authenticate").orElse("").startsWith("Basic "),
                    "a browser is asked to log in");
        }
    }

    @Test
    void usersModeServesAnAdminFromAnyAddressAndNobodyElse() throws Exception {
        InetAddress outside = nonLoopbackAddress();
        Assumptions.assumeTrue(outside != null, "this machine has no non-loopback IPv4 address to connect from");
        try (SluiceServer server = SluiceServer.start(settings().with(Settings.BIND, "0.0.0.0")
                .with(Settings.PASSWORD_FILE, passwords()).with(Settings.ADMIN_USERS, List.of("alice"))
                .with(Settings.ADMIN_API, "users"))) {
            InetSocketAddress target = new InetSocketAddress(outside, server.port("http"));
            assertEquals(200, status(outside, target, "GET", "/api/v1/summary", "alice"));
            assertEquals(403, status(outside, target, "GET", "/api/v1/summary", "bob"));
            assertEquals(401, status(outside, target, "GET", "/api/v1/summary", null));
        }
    }

    @Test
    void usersModeWithoutAuthenticationDoesNotStart() {
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> SluiceServer.start(settings().with(Settings.BIND, "127.0.0.1").with(Settings.ADMIN_API, "users")));
        assertTrue(e.getMessage().contains("--admin-users"), e.getMessage());
    }

    @Test
    void theDecisionTable() {
        AdminAccess loopback = new AdminAccess("loopback");
        InetSocketAddress local = new InetSocketAddress("127.0.0.1", 5000);
        InetSocketAddress local6 = new InetSocketAddress("::1", 5000);
        InetSocketAddress remote = new InetSocketAddress("192.0.2.7", 5000);
        assertInstanceOf(AdminAccess.Allow.class, loopback.decide(local, false, null, null, null));
        assertInstanceOf(AdminAccess.Allow.class, loopback.decide(local6, true, null, null, null));
        assertInstanceOf(AdminAccess.Refuse.class, loopback.decide(remote, false, null, null, null));
        assertInstanceOf(AdminAccess.Refuse.class, loopback.decide(null, false, null, null, null));
        assertInstanceOf(AdminAccess.Allow.class, loopback.decide(local, true, null, "http://localhost:8083", "localhost:8083"));
        assertInstanceOf(AdminAccess.Refuse.class, loopback.decide(local, true, null, "http://localhost:9999", "localhost:8083"));
        assertInstanceOf(AdminAccess.Refuse.class, loopback.decide(local, true, null, "null", "localhost:8083"));
        assertInstanceOf(AdminAccess.Refuse.class, loopback.decide(local, true, null, "http://localhost:8083", null));
        assertInstanceOf(AdminAccess.Refuse.class, new AdminAccess("off").decide(local, false, null, null, null));
    }
}
