package dev.icedit.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Resident memory of this process from /proc/self/status (Linux), in bytes. */
public final class ProcessMemory {
    private ProcessMemory() {}

    public static long rss() {
        return field("VmRSS:");
    }

    /** Peak resident memory since the last {@link #resetPeak}. */
    public static long peak() {
        return field("VmHWM:");
    }

    /** Resets the peak to the current resident size (writes 5 to /proc/self/clear_refs). */
    public static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static long field(String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(name)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalStateException(name + " not in /proc/self/status");
    }
}
