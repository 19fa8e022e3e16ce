package dev.icedit.testing;

import dev.icedit.tensor.IceditException;
import java.nio.file.Path;

/**
 * The property every fuzz test checks (see docs/FUZZING.md): whatever the bytes of an input file, the reader
 * either returns, or throws an {@link IceditException} whose message is one line naming the file: not blank, with
 * no line break, starting with the file's path. Anything else it throws (a NullPointerException, an
 * ArithmeticException, a StackOverflowError, an IOException, an AssertionError of the test's own checks)
 * propagates, and Jazzer reports it as a finding.
 */
public final class FuzzProperty {
    private FuzzProperty() {}

    /** A read of one input; may throw anything, which is then a finding unless it is a good IceditException. */
    @FunctionalInterface
    public interface Read {
        void run() throws Exception;
    }

    /** Runs {@code read} over the input in {@code file}; returns true when it was accepted, false when refused. */
    public static boolean acceptedOrRefusedInOneLine(Path file, Read read) throws Exception {
        try {
            read.run();
            return true;
        } catch (IceditException e) {
            String m = e.getMessage();
            if (m == null || m.isBlank() || m.indexOf('\n') >= 0 || m.indexOf('\r') >= 0
                    || !m.startsWith(file.toString())) {
                throw new AssertionError("an IceditException must be one non-blank line starting with " + file
                        + ", got: " + m, e);
            }
            return false;
        }
    }
}
