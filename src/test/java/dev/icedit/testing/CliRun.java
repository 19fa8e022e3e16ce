package dev.icedit.testing;

import dev.icedit.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;

/** One command line run through {@link Main#run}, as a user runs it: the exit code and what it printed. */
public record CliRun(int code, String out, String err) {
    public static CliRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new CliRun(code, out.toString(), err.toString());
    }
}
