package dev.icedit.server;

import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * The one directory requests may write into. Requests name files in it by plain names only (no separators, no
 * "..", no leading dot), so nothing a client sends can reach a path outside it.
 */
final class WorkDir {
    private static final Pattern PLAIN_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final Path root;

    WorkDir(Path dir) {
        try {
            Files.createDirectories(dir);
            this.root = dir.toRealPath();
        } catch (IOException e) {
            throw IceditException.inFile(dir, "cannot create the work directory: " + e.getMessage());
        }
        if (!Files.isWritable(root)) {
            throw IceditException.inFile(root, "work directory is not writable");
        }
    }

    Path root() {
        return root;
    }

    /** The path of {@code name} in the work directory; {@code field} names the request field in errors. */
    Path resolve(String name, String field) {
        if (name == null || name.isEmpty()) {
            throw ApiError.badRequest("'" + field + "' is required: a plain file name in the work directory");
        }
        if (!PLAIN_NAME.matcher(name).matches() || name.contains("..")) {
            throw ApiError.badRequest("'" + field + "' must be a plain file name (letters, digits, '.', '_', '-';"
                    + " no path separators, no '..', not starting with '.'), got '" + printable(name) + "'");
        }
        Path p = root.resolve(name).normalize();
        if (!root.equals(p.getParent())) {
            throw ApiError.badRequest("'" + field + "' does not name a file directly in the work directory");
        }
        if (Files.isSymbolicLink(p)) {
            throw ApiError.badRequest("'" + field + "' names a symbolic link in the work directory; refusing to follow it");
        }
        return p;
    }

    /** A name safe to echo in a message: control characters escaped, long names cut. */
    static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && i < 80; i++) {
            char c = s.charAt(i);
            sb.append(c < 32 || c == 127 ? String.format("\\u%04x", (int) c) : String.valueOf(c));
        }
        return s.length() > 80 ? sb + "..." : sb.toString();
    }
}
