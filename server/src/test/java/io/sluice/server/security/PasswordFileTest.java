package io.sluice.server.security;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Mosquitto's password file format, both ways: files mosquitto_passwd writes verify here, and ours there. */
class PasswordFileTest {
    private static final byte[] PW = "s3cret pässword".getBytes(StandardCharsets.UTF_8);

    private static boolean hasMosquittoPasswd() {
        return Files.isExecutable(Path.of("/usr/bin/mosquitto_passwd"));
    }

    private static void mosquittoPasswd(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("mosquitto_passwd"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void entriesWrittenByMosquittoPasswdVerify(@TempDir Path dir) throws Exception {
        assumeTrue(hasMosquittoPasswd(), "mosquitto_passwd not installed (apt-get install mosquitto)");
        Path file = dir.resolve("passwd");
        mosquittoPasswd("-c", "-b", file.toString(), "alice", new String(PW, StandardCharsets.UTF_8));
        mosquittoPasswd("-b", file.toString(), "bob", "other");
        PasswordFile f = PasswordFile.read(file);
        assertTrue(f.verify("alice", PW));
        assertTrue(f.verify("bob", "other".getBytes(StandardCharsets.UTF_8)));
        assertFalse(f.verify("alice", "other".getBytes(StandardCharsets.UTF_8)));
        assertFalse(f.verify("carol", PW));
        assertFalse(f.verify("alice", null));
    }

    /** Our passwd subcommand's file is one Mosquitto itself accepts: a real mosquitto broker logs in with it. */
    @Test
    void entriesWeWriteAreMosquittosOwnFormat(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("passwd");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertEquals(0, PasswdCommand.run(new String[] {"passwd", file.toString(), "alice"},
                new ByteArrayInputStream("s3cret pässword\n".getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out), System.err));
        assertEquals(0, PasswdCommand.run(new String[] {"passwd", file.toString(), "alice"},
                new ByteArrayInputStream("changed\n".getBytes(StandardCharsets.UTF_8)), new PrintStream(out), System.err));
        List<String> lines = Files.readAllLines(file);
        assertEquals(1, lines.size(), "the user's line is replaced, not repeated");
        assertTrue(lines.get(0).matches("alice:\\$7\\$101\\$[A-Za-z0-9+/=]+\\$[A-Za-z0-9+/=]+"), lines.get(0));
        assertTrue(PasswordFile.read(file).verify("alice", "changed".getBytes(StandardCharsets.UTF_8)));
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/mosquitto")), "mosquitto not installed (apt-get install mosquitto)");
        // a real Mosquitto broker authenticates against the file we wrote
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        Path conf = dir.resolve("mosquitto.conf");
        // as root Mosquitto would switch to its own user, who cannot read a file only its owner may read
        Files.writeString(conf, ("root".equals(System.getProperty("user.name")) ? "user root\n" : "") + "listener " + port + " 127.0.0.1\nallow_anonymous false\npassword_file " + file + "\n");
        Process broker = new ProcessBuilder("/usr/sbin/mosquitto", "-c", conf.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("mosquitto.log").toFile()).start();
        try {
            AccessControlTest.awaitTrue(() -> pub(port, "changed") == 0);
            assertTrue(pub(port, "wrong") != 0, "mosquitto took a wrong password");
        } finally {
            broker.destroy();
            broker.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static int pub(int port, String password) {
        try {
            Process p = new ProcessBuilder("mosquitto_pub", "-h", "127.0.0.1", "-p", String.valueOf(port), "-u", "alice",
                    "-P", password, "-t", "t", "-m", "m", "-q", "1").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) ? p.exitValue() : -1;
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    void plainTextAndMalformedEntriesAreRefusedWithAMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PasswordFile.parse(List.of("# users", "alice:secret"), "f"));
        assertTrue(e.getMessage().contains("line 2") && e.getMessage().contains("plain-text")
                && e.getMessage().contains("mosquitto_passwd -U"), e.getMessage());
        assertFalse(e.getMessage().contains("secret"), "the message never repeats the password");
        assertThrows(IllegalArgumentException.class, () -> PasswordFile.parse(List.of("alice:$7$101$!!$??"), "f"));
        assertThrows(IllegalArgumentException.class, () -> PasswordFile.parse(List.of("no colon"), "f"));
    }

    @Test
    void theSubcommandRefusesBadUsage(@TempDir Path dir) {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        assertEquals(2, PasswdCommand.run(new String[] {"passwd", dir.resolve("p").toString()},
                new ByteArrayInputStream(new byte[0]), quiet, quiet));
        assertEquals(2, PasswdCommand.run(new String[] {"passwd", dir.resolve("p").toString(), "a:b"},
                new ByteArrayInputStream("x\n".getBytes(StandardCharsets.UTF_8)), quiet, quiet));
        assertEquals(2, PasswdCommand.run(new String[] {"passwd", dir.resolve("p").toString(), "a"},
                new ByteArrayInputStream(new byte[0]), quiet, quiet));
    }
}
