package dev.icedit.cli;

import dev.icedit.eval.metrics.Bootstrap;
import dev.icedit.eval.report.MatrixReport;
import dev.icedit.tensor.IceditException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "report", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"One HTML page for a matrix of eval runs (datasets x methods, single and continual), read from"
                + " their directories: metrics with 95%% intervals and counts, charts, per-type breakdowns, continual curves.",
                "Example: icedit report --out matrix.html docs/results/knowedit"})
final class ReportCommand implements Callable<Integer> {
    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "DIR",
            description = "icedit eval --out directories, or folders holding them (searched below)")
    List<Path> dirs;
    @Option(names = "--out", required = true, paramLabel = "FILE", description = "the HTML page to write") Path out;
    @Option(names = "--resamples", paramLabel = "B", defaultValue = "" + Bootstrap.DEFAULT_RESAMPLES,
            description = "bootstrap resamples (default ${DEFAULT-VALUE})") int resamples;

    @Override
    public Integer call() {
        if (resamples < 1) {
            throw new IceditException("--resamples must be >= 1, got " + resamples);
        }
        List<Path> runs = MatrixReport.find(dirs);
        CompareCommand.write(out, MatrixReport.render(runs, resamples));
        spec.commandLine().getOut().println("wrote " + out + " (" + runs.size() + " runs)");
        return 0;
    }
}
