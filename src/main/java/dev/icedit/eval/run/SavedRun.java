package dev.icedit.eval.run;

import com.fasterxml.jackson.databind.JsonNode;
import dev.icedit.eval.metrics.Protocol;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A finished (or interrupted) eval run read back from its directory: run.json, cases.jsonl, curve.jsonl. */
public record SavedRun(Path dir, JsonNode settings, List<CaseRecord> cases, List<CurvePoint> curve) {

    /** Reads a run directory; a path that is not one fails with one line naming it. */
    public static SavedRun read(Path path) {
        Path dir = path.toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            throw IceditException.inFile(path, "not a directory (give the --out directory of an icedit eval run)");
        }
        RunDirectory rd = new RunDirectory(dir);
        if (!Files.exists(rd.runJson())) {
            throw IceditException.inFile(path, "holds no run.json, so it is not an icedit eval run directory");
        }
        JsonNode settings;
        try {
            settings = RunDirectory.JSON.readTree(rd.runJson().toFile());
        } catch (IOException e) {
            throw IceditException.inFile(rd.runJson(), "cannot read it: " + e.getMessage());
        }
        List<CaseRecord> cases = rd.readLines(rd.cases(), CaseRecord.class);
        if (cases.isEmpty()) {
            throw IceditException.inFile(path, "has no finished cases (cases.jsonl is missing or empty)");
        }
        List<CurvePoint> curve = Files.exists(rd.curve()) ? rd.readLines(rd.curve(), CurvePoint.class) : List.of();
        return new SavedRun(dir, settings, List.copyOf(cases), List.copyOf(curve));
    }

    public String method() {
        return settings.path("method").asText("?");
    }

    /** The dataset layout (ZsRE, wiki_counterfact, ...). */
    public String dataset() {
        return settings.path("layout").asText("?");
    }

    public String mode() {
        return settings.path("mode").asText("single");
    }

    public String schedule() {
        return settings.path("schedule").isTextual() ? settings.path("schedule").asText() : null;
    }

    /** The protocol the run measured; runs from before the option are teacher-forced. */
    public Protocol protocol() {
        return settings.path("protocol").isTextual() ? Protocol.parse(settings.path("protocol").asText())
                : Protocol.TEACHER_FORCED;
    }

    public String dataSha256() {
        return settings.path("data_sha256").asText(null);
    }

    public long seed() {
        return settings.path("seed").asLong(0);
    }

    /** The mean seconds per edit of the finished cases. */
    public double secondsPerEdit() {
        return cases.stream().mapToDouble(CaseRecord::editSeconds).average().orElse(0);
    }

    /** "mode" or "continual (immediate)". */
    public String modeLabel() {
        return schedule() == null ? mode() : mode() + " (" + schedule() + ")";
    }
}
