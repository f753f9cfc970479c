package io.sluice.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * docs/benchmarks.md is written by more than one tool: each owns its {@code ## } sections. A tool that rewrites
 * the file keeps the sections of the others; one that writes a section replaces only that section.
 */
public final class DocSections {
    private DocSections() {
    }

    /** The section that starts with {@code heading} (a {@code ## } line) in the file, to the next one; "" if none. */
    public static String section(Path file, String heading) throws IOException {
        if (!Files.exists(file)) {
            return "";
        }
        String text = Files.readString(file);
        int start = text.startsWith(heading) ? 0 : text.indexOf("\n" + heading);
        if (start < 0) {
            return "";
        }
        start = text.charAt(start) == '\n' ? start + 1 : start;
        int end = text.indexOf("\n## ", start + heading.length());
        return end < 0 ? text.substring(start) : text.substring(start, end + 1);
    }

    /** Replace (or append) the section starting with {@code heading} by {@code section}. */
    public static void replace(Path file, String heading, String section) throws IOException {
        String text = Files.exists(file) ? Files.readString(file) : "";
        String old = section(file, heading);
        String body = section.endsWith("\n") ? section : section + "\n";
        if (old.isEmpty()) {
            text = text + (text.isEmpty() || text.endsWith("\n\n") ? "" : text.endsWith("\n") ? "\n" : "\n\n") + body;
        } else {
            int at = text.indexOf(old);
            // a section followed by another keeps one blank line before the next heading
            String next = text.substring(at + old.length());
            String kept = next.isEmpty() ? body : body.stripTrailing() + "\n\n";
            text = text.substring(0, at) + kept + next;
        }
        Files.writeString(file, text);
    }
}
