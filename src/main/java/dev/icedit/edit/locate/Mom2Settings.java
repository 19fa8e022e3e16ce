package dev.icedit.edit.locate;

import dev.icedit.tensor.IceditException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Where and how the second-moment statistics C = E[k k^T] are computed and cached.
 *
 * @param dataset {@code mom2_dataset}: a text file or a folder of text (.txt, .raw, .text, .md files and .zip
 *     archives of them); a relative path is resolved against the working directory, else the installation
 *     directory (the launcher's {@code icedit.home})
 * @param nSamples {@code mom2_n_samples}: text windows of up to {@link SecondMoments#WINDOW_TOKENS} tokens to use
 * @param dtype {@code mom2_dtype}: float32 or float64, the precision of each batch's k^T k (sums are float64)
 * @param statsDir {@code stats_dir}: the cache folder, or null for the default (see {@link #cacheDir()})
 */
public record Mom2Settings(String dataset, int nSamples, String dtype, String statsDir) {
    public static final String STATS_DIR_PROPERTY = "icedit.stats.dir";
    public static final String STATS_DIR_ENV = "ICEDIT_STATS_DIR";

    public Mom2Settings {
        if (dataset == null || dataset.isBlank()) {
            throw new IceditException("mom2_dataset must name a text file or folder");
        }
        if (nSamples < 1) {
            throw new IceditException("mom2_n_samples must be >= 1, got " + nSamples);
        }
        dtype = dtype == null ? "float32" : dtype.toLowerCase(Locale.ROOT);
        if (!dtype.equals("float32") && !dtype.equals("float64")) {
            throw new IceditException("mom2_dtype must be float32 or float64, got '" + dtype + "'");
        }
    }

    /**
     * The cache folder: {@code stats_dir} when set, else the system property {@value #STATS_DIR_PROPERTY}, else the
     * environment variable {@value #STATS_DIR_ENV}, else {@code ~/.cache/icedit/stats}.
     */
    public Path cacheDir() {
        if (statsDir != null && !statsDir.isBlank()) {
            return Path.of(statsDir);
        }
        String p = System.getProperty(STATS_DIR_PROPERTY);
        if (p != null && !p.isBlank()) {
            return Path.of(p);
        }
        String e = System.getenv(STATS_DIR_ENV);
        if (e != null && !e.isBlank()) {
            return Path.of(e);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "icedit", "stats");
    }

    /** The corpus on disk; fails naming the setting when it is missing. */
    public Path corpusPath() {
        Path p = Path.of(dataset);
        if (!p.isAbsolute() && !Files.exists(p)) {
            String home = System.getProperty("icedit.home");
            if (home != null && Files.exists(Path.of(home).resolve(p))) {
                return Path.of(home).resolve(p);
            }
        }
        if (!Files.exists(p)) {
            throw new IceditException("mom2_dataset: '" + dataset + "' does not exist (" + p.toAbsolutePath()
                    + "); name a text file or a folder of text files to compute the covariance statistics from");
        }
        return p;
    }

    /**
     * The dataset's part of a cache file name: its last path element, made safe, and a short hash of the setting as
     * written, so that two corpora of one name do not share statistics.
     */
    public String datasetKey() {
        Path p = Path.of(dataset).normalize();
        String name = p.getFileName() == null ? "corpus" : p.getFileName().toString();
        name = name.replaceAll("[^A-Za-z0-9_.-]", "_");
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(dataset.getBytes(StandardCharsets.UTF_8));
            return name + "-" + HexFormat.of().formatHex(h).substring(0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
