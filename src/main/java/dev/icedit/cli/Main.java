package dev.icedit.cli;

import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The icedit command line: a thin layer over the library. */
@Command(name = "icedit", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Edit the knowledge of causal language models (ICE, FT-L, FT-M, ROME, MEMIT), measure the result and tune the settings.",
        subcommands = {GenerateCommand.class, InspectCommand.class, EditCommand.class, TuneCommand.class, ApplyPatchCommand.class,
            RevertCommand.class, EvalCommand.class, CompareCommand.class, ReportCommand.class, PlotCommand.class,
            ServeCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    /** Whether stderr is a terminal, so that progress may be drawn as a bar (see {@link Progress}). */
    final boolean terminal;

    private Main(boolean terminal) {
        this.terminal = terminal;
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true),
                Progress.stderrIsTerminal()));
    }

    /** Runs a command line with the given streams and returns the exit code (0 ok, 1 error, 2 usage). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        return run(args, out, err, false);
    }

    private static int run(String[] args, PrintWriter out, PrintWriter err, boolean terminal) {
        CommandLine cl = new CommandLine(new Main(terminal));
        cl.setOut(out);
        cl.setErr(err);
        // a usage error is one line, as every other error: what is wrong and where the help is, not the whole help
        cl.setParameterExceptionHandler((ex, given) -> {
            CommandLine sub = ex.getCommandLine();
            String hint = ex instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()
                    ? "; did you mean " + String.join(" or ", u.getSuggestions()) + "?" : "";
            err.println("error: " + IceditException.oneLine(ex.getMessage()) + hint + " (see '"
                    + sub.getCommandSpec().qualifiedName() + " --help')");
            err.flush();
            return sub.getCommandSpec().exitCodeOnInvalidInput();
        });
        cl.setExecutionExceptionHandler((ex, cmd, parse) -> {
            if (ex instanceof IceditException) {
                err.println("error: " + ex.getMessage());
            } else if (ex instanceof IOException io) {
                err.println("error: " + IceditException.oneLine(IceditException.reason(io)));
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
