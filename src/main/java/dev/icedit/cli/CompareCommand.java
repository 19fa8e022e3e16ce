package dev.icedit.cli;

import dev.icedit.eval.metrics.Bootstrap;
import dev.icedit.eval.report.Comparison;
import dev.icedit.eval.report.ComparisonPage;
import dev.icedit.eval.run.RunDirectory;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Compare eval runs over the same cases: each metric of each run with its 95%% interval, and each"
                + " run's difference from the first with a paired bootstrap interval and the share of cases where it is"
                + " ahead or behind. Runs over other data, other cases or another protocol are refused.",
                "Example: icedit compare runs/ft-m runs/ice --html compare.html"})
final class CompareCommand implements Callable<Integer> {
    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(arity = "2..*", paramLabel = "RUN_DIR", description = "--out directories of icedit eval runs; the first is the baseline")
    List<Path> runs;
    @Option(names = "--json", paramLabel = "FILE", description = "also write the comparison as JSON") Path json;
    @Option(names = "--html", paramLabel = "FILE", description = "also write it as an HTML page") Path html;
    @Option(names = "--resamples", paramLabel = "B", defaultValue = "" + Bootstrap.DEFAULT_RESAMPLES,
            description = "bootstrap resamples (default ${DEFAULT-VALUE})") int resamples;
    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "seed of the resampling (default ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() {
        if (resamples < 1) {
            throw new IceditException("--resamples must be >= 1, got " + resamples);
        }
        Comparison c = Comparison.of(runs, resamples, seed);
        spec.commandLine().getOut().print(c.table());
        if (json != null) {
            write(json, json(c));
        }
        if (html != null) {
            write(html, ComparisonPage.render(c));
        }
        spec.commandLine().getOut().flush();
        return 0;
    }

    private static String json(Comparison c) {
        try {
            return RunDirectory.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(c.toJson()) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static void write(Path file, String text) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(file, text);
        } catch (IOException e) {
            throw IceditException.inFile(file, "cannot write: " + e.getMessage());
        }
    }
}
