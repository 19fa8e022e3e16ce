package dev.icedit.cli;

import dev.icedit.tensor.IceditException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The icedit command line: a thin layer over the library. */
@Command(name = "icedit", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Edit the knowledge of causal language models (ICE, FT-L, FT-M, ROME, MEMIT), measure the result and tune the settings.",
        subcommands = {GenerateCommand.class, InspectCommand.class, EditCommand.class, TuneCommand.class, ApplyPatchCommand.class,
            RevertCommand.class, EvalCommand.class, PlotCommand.class, ServeCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs a command line with the given streams and returns the exit code (0 ok, 1 error, 2 usage). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, cmd, parse) -> {
            if (ex instanceof IceditException) {
                err.println("error: " + ex.getMessage());
            } else {
                err.println("internal error: " + ex + (System.getenv("ICEDIT_DEBUG") != null ? ""
                        : " (set ICEDIT_DEBUG=1 for the stack trace)"));
                if (System.getenv("ICEDIT_DEBUG") != null) {
                    ex.printStackTrace(err);
                }
            }
            err.flush();
            return 1;
        });
        return cl.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"icedit " + (v == null ? "dev" : v)};
        }
    }
}
