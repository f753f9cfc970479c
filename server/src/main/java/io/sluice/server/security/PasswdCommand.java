package io.sluice.server.security;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code java -jar sluice.jar passwd FILE USER}: sets USER's password in a Mosquitto-format password file
 * (created if missing), as {@code mosquitto_passwd FILE USER} does. The password is asked twice on a terminal,
 * or read as the first line of standard input otherwise (scripts); it never appears on the command line. The
 * file is replaced atomically, so a broker reloading it never reads half of it, and keeps its permissions (a new
 * file is readable by its owner only).
 */
public final class PasswdCommand {
    private PasswdCommand() {
    }

    /** Returns the exit code: 0 done, 2 bad usage, 1 could not write. */
    public static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
        if (args.length != 3) {
            err.println("usage: java -jar sluice.jar passwd FILE USER   (the password is read from the terminal or"
                    + " the first line of standard input)");
            return 2;
        }
        Path file = Path.of(args[1]);
        String user = args[2];
        if (user.isEmpty() || user.contains(":")) {
            err.println("sluice passwd: a user name must not be empty nor contain ':'");
            return 2;
        }
        char[] password = readPassword(in, err);
        if (password == null || password.length == 0) {
            err.println("sluice passwd: no password given");
            return 2;
        }
        try {
            List<String> lines = Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : new ArrayList<>();
            String entry = user + ":" + PasswordFile.hash(password);
            boolean replaced = false;
            for (int i = 0; i < lines.size(); i++) {
                if (lines.get(i).startsWith(user + ":")) {
                    lines.set(i, entry);
                    replaced = true;
                }
            }
            if (!replaced) {
                lines.add(entry);
            }
            Path parent = file.toAbsolutePath().getParent();
            Path tmp = Files.createTempFile(parent, ".passwd", ".tmp");
            Files.write(tmp, lines, StandardCharsets.UTF_8);
            if (Files.exists(file)) {
                // the new file is readable by whoever could read the old one, no more (a new one: the owner)
                Files.setPosixFilePermissions(tmp, Files.getPosixFilePermissions(file));
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            out.println((replaced ? "updated " : "added ") + user + " in " + file);
            return 0;
        } catch (IOException e) {
            err.println("sluice passwd: cannot write " + file + ": " + e.getMessage());
            return 1;
        } finally {
            Arrays.fill(password, '\0');
        }
    }

    private static char[] readPassword(InputStream in, PrintStream err) {
        Console console = System.console();
        if (console != null && in == System.in) {
            char[] first = console.readPassword("Password: ");
            char[] again = console.readPassword("Reenter password: ");
            if (first == null || !Arrays.equals(first, again)) {
                err.println("sluice passwd: the passwords do not match");
                return null;
            }
            Arrays.fill(again, '\0');
            return first;
        }
        try {
            String line = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).readLine();
            return line == null ? null : line.toCharArray();
        } catch (IOException e) {
            return null;
        }
    }
}
