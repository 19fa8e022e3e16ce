package dev.icedit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./icedit ...} lines of the README's "Set-up" and "Using it" blocks, run exactly as written by bash from
 * a scratch directory (where {@code ./icedit} is a one-line script that runs the checkout's launcher), one after the
 * other, as a new user would paste them. A line that exits non-zero fails the test with its output. Two kinds of
 * line are left out, loudly: those that run until stopped ({@code serve}) or need the datasets beside the checkout
 * and minutes of work ({@code eval}, {@code tune}); their own tests cover them.
 */
class ReadmeCommandsTest {
    static final Path ROOT = Path.of("").toAbsolutePath();
    static final List<String> SECTIONS = List.of("## Set-up", "## Using it");
    /** Lines left out, by the command's first word after ./icedit, with the reason. */
    static final Map<String, String> LEFT_OUT = Map.of(
            "serve", "runs until stopped (ServerApiTest covers the server)",
            "eval", "needs ../shared/data and minutes of work (EvalCommandTest and SharedDataTest cover it)",
            "tune", "needs ../shared/data and runs many evaluations (TuneCommandTest covers it)");
    @TempDir Path scratch;

    /** The ./icedit lines of the named sections' code blocks, in order. */
    static List<String> commands(String readme) {
        List<String> out = new ArrayList<>();
        boolean inSection = false;
        boolean inBlock = false;
        for (String line : readme.split("\n", -1)) {
            if (line.startsWith("## ")) {
                inSection = SECTIONS.contains(line.strip());
            }
            if (line.startsWith("```")) {
                inBlock = !inBlock;
                continue;
            }
            if (inSection && inBlock && line.startsWith("./icedit")) {
                out.add(line.strip());
            }
        }
        return out;
    }

    @Test
    void everyCommandOfTheSetUpAndUsingItSectionsRunsAsWritten() throws Exception {
        List<String> commands = commands(Files.readString(ROOT.resolve("README.md")));
        assertThat(commands).as("README commands").hasSizeGreaterThanOrEqualTo(8)
                .anyMatch(c -> c.contains("--guard") && c.contains("--patch"))
                .anyMatch(c -> c.startsWith("./icedit apply-patch")).anyMatch(c -> c.startsWith("./icedit revert"))
                .anyMatch(c -> c.startsWith("./icedit generate")).anyMatch(c -> c.startsWith("./icedit inspect"));
        Path launcher = scratch.resolve("icedit");
        Files.writeString(launcher, "#!/usr/bin/env bash\nexec '" + ROOT.resolve("icedit") + "' \"$@\"\n");
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
        // the README's paths are relative to the checkout: compare and report read the committed runs in docs/
        Files.createSymbolicLink(scratch.resolve("docs"), ROOT.resolve("docs"));
        boolean shared = Files.isDirectory(ROOT.resolve("../shared/data"));
        int ran = 0;
        for (String command : commands) {
            String verb = command.split("\\s+").length > 1 ? command.split("\\s+")[1] : "";
            if (LEFT_OUT.containsKey(verb)) {
                System.out.println("[readme] SKIPPED: " + command + "  (" + LEFT_OUT.get(verb) + ")");
                continue;
            }
            if (command.contains("--method ROME") && !shared) {
                System.out.println("[readme] SKIPPED: " + command + "  (its statistics need ../shared/data, absent)");
                continue;
            }
            long start = System.nanoTime();
            Result r = run(command);
            System.out.printf("[readme] %s  -> exit %d in %.1f s%n", command, r.code, (System.nanoTime() - start) / 1e9);
            if (r.code != 0) {
                fail("README command failed (exit " + r.code + "): " + command + "\n" + tail(r.output));
            }
            ran++;
        }
        System.out.println("[readme] ran " + ran + " of " + commands.size() + " commands");
        // what the sequence promises: the patch went onto a copy and came back off it, bit for bit
        Path original = ROOT.resolve("models/default");
        try (var shards = Files.list(original)) {
            for (Path shard : shards.filter(p -> p.getFileName().toString().endsWith(".safetensors")).toList()) {
                Path back = scratch.resolve("original-again").resolve(shard.getFileName());
                assertThat(Files.mismatch(shard, back)).as("reverted %s", shard.getFileName()).isEqualTo(-1L);
            }
        }
    }

    record Result(int code, String output) {}

    private Result run(String command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", command).directory(scratch.toFile()).redirectErrorStream(true);
        pb.environment().remove("ICEDIT_DEFAULT_MODEL");
        Path log = Files.createTempFile(scratch, "out-", ".log");
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            return new Result(124, Files.readString(log, StandardCharsets.UTF_8) + "\n(timed out after 10 minutes)");
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        Files.delete(log);
        return new Result(p.exitValue(), output);
    }

    private static String tail(String s) {
        return s.length() <= 4000 ? s : "..." + s.substring(s.length() - 4000);
    }
}
