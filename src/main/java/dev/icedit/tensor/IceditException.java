package dev.icedit.tensor;

/**
 * An error caused by the user's input (a file, an option, a request), with a message meant to be shown as it is:
 * one line that names the thing at fault and the problem. Programming errors use the JDK's own exceptions.
 */
public class IceditException extends RuntimeException {
    public IceditException(String message) {
        super(message);
    }

    public IceditException(String message, Throwable cause) {
        super(message, cause);
    }

    /** An error about one file: the message starts with the file's path. */
    public static IceditException inFile(java.nio.file.Path file, String problem) {
        return new IceditException(file + ": " + problem);
    }
}
