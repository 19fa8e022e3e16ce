package dev.icedit.cli;

import dev.icedit.eval.report.CurveComparison;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "plot", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Charts comparing continual eval runs: for each metric, a PNG with one line per run (the"
                + " metric on the probe set against the number of edits).",
                "Example: icedit plot --out charts runs/ice runs/ft-m"})
final class PlotCommand implements Callable<Integer> {
    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "RUN_DIR", description = "--out directories of continual icedit eval runs")
    List<Path> runs;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "where to write METRIC.png") Path out;

    @Override
    public Integer call() {
        Map<String, byte[]> charts = CurveComparison.charts(runs);
        PrintWriter w = spec.commandLine().getOut();
        try {
            Files.createDirectories(out);
            for (Map.Entry<String, byte[]> c : charts.entrySet()) {
                Path file = out.resolve(c.getKey() + ".png");
                Files.write(file, c.getValue());
                w.println(file);
            }
        } catch (IOException e) {
            throw IceditException.inFile(out, "cannot write the charts: " + e.getMessage());
        }
        return 0;
    }
}
