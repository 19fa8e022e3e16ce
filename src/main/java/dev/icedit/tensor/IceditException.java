package dev.icedit.tensor;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/**
 * An error caused by the user's input (a file, an option, a request), with a message meant to be shown as it is:
 * one line that names the thing at fault and the problem. Programming errors use the JDK's own exceptions.
 *
 * <p>The message is kept to one line whatever it quotes (a prompt with a newline, a file name with control
 * characters): line breaks and other control characters are written as escapes.
 */
public class IceditException extends RuntimeException {
    public IceditException(String message) {
        super(oneLine(message));
    }

    public IceditException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    /** An error about one file: the message starts with the file's path. */
    public static IceditException inFile(Path file, String problem) {
        return new IceditException(file + ": " + problem);
    }

    /**
     * A failed file operation on {@code file}, for example "cannot save the model", with the reason in words:
     * the JDK's own messages for these exceptions are often just a path.
     */
    public static IceditException io(Path file, String action, IOException e) {
        return inFile(file, action + ": " + reason(e));
    }

    /** What went wrong in an I/O exception, as the shell says it ("'p': no such file or directory"). */
    public static String reason(IOException e) {
        if (e instanceof FileSystemException f) {
            String at = f.getFile() == null ? "" : "'" + f.getFile() + "': ";
            if (e instanceof NoSuchFileException) {
                return at + "no such file or directory";
            }
            if (e instanceof FileAlreadyExistsException) {
                return at + (f.getFile() != null && Files.isRegularFile(Path.of(f.getFile()))
                        ? "is a file, where a directory is needed" : "already exists");
            }
            if (e instanceof NotDirectoryException) {
                return at + "not a directory";
            }
            if (e instanceof AccessDeniedException) {
                return at + "permission denied";
            }
            if (e instanceof DirectoryNotEmptyException) {
                return at + "directory not empty";
            }
            if (f.getReason() != null) {
                return at + f.getReason();
            }
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    /** The text with line breaks and other control characters escaped, so that it prints as one line. */
    public static String oneLine(String s) {
        if (s == null) {
            return null;
        }
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String esc = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? " "
                    : Character.isISOControl(c) || c == '\u2028' || c == '\u2029' ? String.format("\\u%04x", (int) c)
                    : null;
            if (esc != null && b == null) {
                b = new StringBuilder(s.length() + 8).append(s, 0, i);
            }
            if (b != null) {
                b.append(esc != null ? esc : String.valueOf(c));
            }
        }
        return b == null ? s : b.toString();
    }
}
