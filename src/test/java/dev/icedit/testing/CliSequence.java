package dev.icedit.testing;

import dev.icedit.cli.Main;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs command lines one after the other in one JVM, as {@link Main} runs each, for tests that need a process of
 * their own (a process-global setting such as the libtorch thread count) but more than one command in it. The
 * arguments are the command lines separated by {@value #THEN}; it stops at the first that exits non-zero, with its
 * code.
 */
public final class CliSequence {
    public static final String THEN = "--then";

    private CliSequence() {}

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        List<String> command = new ArrayList<>();
        for (String a : args) {
            if (a.equals(THEN)) {
                run(command, out, err);
                command.clear();
            } else {
                command.add(a);
            }
        }
        run(command, out, err);
        System.exit(0);
    }

    private static void run(List<String> command, PrintWriter out, PrintWriter err) {
        err.println("[sequence] " + String.join(" ", command));
        int code = Main.run(command.toArray(String[]::new), out, err);
        if (code != 0) {
            err.println("[sequence] exit " + code + ": " + Arrays.toString(command.toArray()));
            System.exit(code);
        }
    }
}
