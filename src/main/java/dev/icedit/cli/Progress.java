package dev.icedit.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Objects;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress of long work on stderr. On a terminal it is a bar redrawn in place; anywhere else (a log file, a pipe,
 * CI) carriage-return redraws would pile up as garbage, so it prints a plain line now and then instead: the first
 * update, then at most one every {@link #LINE_INTERVAL}, and the last. A bar starts once its total is known, so it
 * never shows a placeholder total.
 */
final class Progress implements AutoCloseable {
    static final Duration LINE_INTERVAL = Duration.ofSeconds(15);

    private final PrintWriter err;
    private final boolean terminal;
    private final boolean rate;
    private final boolean enabled;
    private ProgressBar bar;
    private String task;
    private long total = -1;
    private long startedAt;
    private long startedFrom;
    private long lastLineAt;
    private long lastPrinted = -1;

    /**
     * @param err where plain lines go (the command's error stream)
     * @param terminal whether the process's stderr is a terminal (see {@link #stderrIsTerminal()})
     * @param rate whether to show the rate per minute and the time left (for work of many similar units)
     */
    Progress(PrintWriter err, boolean terminal, boolean rate) {
        this(err, terminal, rate, true);
    }

    private Progress(PrintWriter err, boolean terminal, boolean rate, boolean enabled) {
        this.err = err;
        this.terminal = terminal;
        this.rate = rate;
        this.enabled = enabled;
    }

    /** A progress that shows nothing (--quiet, --json). */
    static Progress quiet() {
        return new Progress(null, false, false, false);
    }

    /** {@code done} of {@code total} units of {@code task}; a new task or total starts a new bar. */
    synchronized void show(String task, long done, long total, String extra) {
        if (!enabled || total <= 0) {
            return;
        }
        if (!Objects.equals(task, this.task) || total != this.total) {
            finish();
            this.task = task;
            this.total = total;
            this.startedAt = System.nanoTime();
            this.startedFrom = done;
            this.lastLineAt = 0;
            this.lastPrinted = -1;
            if (terminal) {
                ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(total)
                        .setStyle(ProgressBarStyle.ASCII).startsFrom(done, Duration.ZERO)
                        .setConsumer(new ConsoleProgressBarConsumer(System.err));
                if (rate) {
                    b.showSpeed().setSpeedUnit(ChronoUnit.MINUTES).setUnit(" " + task, 1);
                }
                bar = b.build();
            }
        }
        if (bar != null) {
            bar.stepTo(done);
            if (extra != null) {
                bar.setExtraMessage(extra);
            }
            return;
        }
        long now = System.nanoTime();
        boolean last = done >= total;
        if (done != lastPrinted && (lastPrinted < 0 || last || now - lastLineAt >= LINE_INTERVAL.toNanos())) {
            err.println(line(done, now) + (extra == null ? "" : ", " + extra));
            err.flush();
            lastLineAt = now;
            lastPrinted = done;
        }
    }

    /** A phase of the work began; shown as a line of its own (on a terminal, in the bar). */
    synchronized void note(String message) {
        if (!enabled) {
            return;
        }
        if (bar != null) {
            bar.setExtraMessage(message);
        } else {
            err.println(message);
            err.flush();
        }
    }

    private String line(long done, long now) {
        StringBuilder s = new StringBuilder(task).append(": ").append(done).append('/').append(total);
        double minutes = (now - startedAt) / 6e10;
        long since = done - startedFrom;
        if (rate && since > 0 && minutes > 0) {
            double perMinute = since / minutes;
            s.append(String.format(Locale.ROOT, " (%.1f/min", perMinute));
            if (done < total) {
                s.append(", about ").append(minutesText((total - done) / perMinute)).append(" left");
            }
            s.append(')');
        }
        return s.toString();
    }

    private static String minutesText(double minutes) {
        return minutes < 1 ? "<1 min" : minutes < 120 ? Math.round(minutes) + " min"
                : String.format(Locale.ROOT, "%.1f h", minutes / 60);
    }

    /** Ends the current task's display. */
    synchronized void finish() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
        task = null;
        total = -1;
    }

    @Override
    public void close() {
        finish();
    }

    /**
     * Whether the process's standard error is a terminal. Java 17 tells only whether stdin and stdout both are
     * ({@code System.console()}); on Linux, where the bar's stream can be checked itself, /proc says what fd 2 is.
     */
    static boolean stderrIsTerminal() {
        if (System.console() == null) {
            return false;
        }
        Path fd = Path.of("/proc/self/fd/2");
        if (!Files.exists(fd, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return true;
        }
        try {
            String target = Files.readSymbolicLink(fd).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }
}
