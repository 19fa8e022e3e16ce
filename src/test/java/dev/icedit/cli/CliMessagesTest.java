package dev.icedit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.icedit.testing.CliRun;
import dev.icedit.testing.Golden;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the command line prints when a first-time user gets something slightly wrong or runs it outside a terminal:
 * one-line usage errors, progress as plain lines in logs, device names as --device spells them, and save errors
 * that say what was in the way.
 */
class CliMessagesTest {
    static final String MODEL = Golden.ROOT.resolve("llama").toString();
    static final String FTM = "src/test/resources/hparams/ftm-tiny.yaml";
    @TempDir Path tmp;

    private static void assertOneLine(CliRun r, int code, String... fragments) {
        assertThat(r.code()).as(r.err()).isEqualTo(code);
        assertThat(r.err().strip()).as(r.err()).startsWith("error: ").doesNotContain("\n").doesNotContain("Usage:")
                .doesNotContain("Exception").contains(fragments);
    }

    @Test
    void aMissingRequiredOptionIsOneLineNamingItNotTheWholeHelp() {
        assertOneLine(CliRun.of("eval", "--data", "x.json", "--method", "ICE"), 2,
                "Missing required option: '--out=DIR'", "(see 'icedit eval --help')");
        assertOneLine(CliRun.of("eval"), 2, "Missing required options", "--data=FILE", "--out=DIR");
        assertOneLine(CliRun.of("apply-patch", "--patch", "p.safetensors"), 2, "'--save=DIR'",
                "(see 'icedit apply-patch --help')");
        assertOneLine(CliRun.of("revert", "--save", "out"), 2, "'--patch=FILE'");
        assertOneLine(CliRun.of("edit", "--promt", "x"), 2, "Unknown option", "'--promt'", "did you mean",
                "--prompt");
        for (String command : List.of("generate", "inspect", "edit", "apply-patch", "revert", "eval", "plot",
                "serve")) {
            assertOneLine(CliRun.of(command, "--no-such-option"), 2, "(see 'icedit " + command + " --help')");
        }
        assertOneLine(CliRun.of("no-such-command"), 2, "no-such-command", "(see 'icedit --help')");
        // asking for help still prints it
        CliRun help = CliRun.of("eval", "--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("Usage: icedit eval").contains("--out=DIR");
    }

    @Test
    void progressOutsideATerminalIsPlainLinesFromTheRealTotal() {
        CliRun r = CliRun.of("edit", "--model", MODEL, "--prompt", "The capital of Zorland is", "--target", "Paris",
                "--method", "FT-M", "--hparams", FTM);
        assertThat(r.code()).as(r.err()).isZero();
        System.out.println("[edit progress, not a terminal]\n" + r.err());
        assertThat(r.err()).doesNotContain("\r").doesNotContain("/1 ").contains("FT-M steps: 1/10, loss ")
                .contains("FT-M steps: 10/10, loss ");
        assertThat(r.err().lines()).hasSizeLessThanOrEqualTo(4); // the first and last step, not one per redraw

        CliRun eval = CliRun.of("eval", "--model", MODEL, "--data", "src/test/resources/eval/tiny-zsre.json",
                "--method", "NONE", "--out", tmp.resolve("eval").toString(), "--fluency-tokens", "20");
        assertThat(eval.code()).as(eval.err()).isZero();
        assertThat(eval.err()).doesNotContain("\r").contains("cases: 0/3").contains("cases: 3/3");
    }

    @Test
    void inspectNamesTheDeviceAsDeviceDoes() {
        CliRun r = CliRun.of("inspect", "--model", MODEL);
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).containsPattern("(?m)^device +cpu$").doesNotContain("cpu()");
        CliRun json = CliRun.of("inspect", "--model", MODEL, "--json");
        assertThat(json.out()).contains("\"device\" : \"cpu\"");
    }

    @Test
    void saveUnderARegularFileOrWhereNothingCanBeCreatedFailsInOneLine() throws Exception {
        Path file = Files.writeString(tmp.resolve("notes.txt"), "not a directory");
        CliRun underFile = CliRun.of("edit", "--model", MODEL, "--prompt", "The capital of Zorland is", "--target",
                "Paris", "--method", "FT-M", "--hparams", FTM, "--quiet", "--save", file.resolve("model").toString());
        assertOneLine(underFile, 1, file.resolve("model") + ": cannot save the model: '" + file
                + "': is a file, where a directory is needed");
        assertThat(Files.readString(file)).isEqualTo("not a directory");

        assumeTrue(Files.isDirectory(Path.of("/proc/self")), "SKIPPED: no /proc on this system");
        CliRun proc = CliRun.of("edit", "--model", MODEL, "--prompt", "The capital of Zorland is", "--target",
                "Paris", "--method", "FT-M", "--hparams", FTM, "--quiet", "--save", "/proc/icedit-model");
        System.out.println("[save under /proc] " + proc.err().strip());
        assertOneLine(proc, 1, "/proc/icedit-model: cannot save the model: '/proc/icedit-model.icedit-tmp-");
    }
}
