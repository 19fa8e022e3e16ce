package dev.icedit.tensor;

/**
 * An error caused by the user's input (a file, an option, a request), with a message meant to be shown as it is:
 * one line that names the thing at fault and the problem. Programming errors use the JDK's own exceptions.
 */
public class IceditException extends RuntimeException {
    public IceditException(String message) {
        super(oneLine(message));
    }

    public IceditException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    /** The message kept to one line whatever it quotes (a tensor name from a file, say): control characters escaped. */
    static String oneLine(String s) {
        if (s == null) {
            return null;
        }
        StringBuilder b = new StringBuilder(s.length());
        s.codePoints().forEach(c -> b.append(c == '\n' ? "\\n" : c == '\r' ? "\\r"
                : Character.isISOControl(c) || c == 0x2028 || c == 0x2029 ? String.format("\\u%04x", c)
                : Character.toString(c)));
        return b.toString();
    }

    /** An error about one file: the message starts with the file's path. */
    public static IceditException inFile(java.nio.file.Path file, String problem) {
        return new IceditException(file + ": " + problem);
    }
}
