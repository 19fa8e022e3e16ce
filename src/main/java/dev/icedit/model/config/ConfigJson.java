package dev.icedit.model.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed reads of a Hugging Face JSON file, with errors that name the file and the key. Values are checked here, once
 * for every architecture: a size must be a positive integer, an epsilon a positive finite number, a string a string;
 * nothing is coerced (8.5 is not read as 8, "8" is not a number).
 */
public final class ConfigJson {
    public static final ObjectMapper JSON = new ObjectMapper();
    /** Reading is stricter than writing: a key given twice or text after the object is an error. */
    private static final ObjectMapper READER = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    public final Path file;
    public final JsonNode root;
    /** Where {@link #root} is in the file, for messages: "" at the top, "rope_scaling." in that object. */
    private final String prefix;

    private ConfigJson(Path file, JsonNode root, String prefix) {
        this.file = file;
        this.root = root;
        this.prefix = prefix;
    }

    public static ConfigJson read(Path file) {
        try {
            JsonNode node = READER.readTree(Files.readAllBytes(file));
            if (node == null || !node.isObject()) {
                throw IceditException.inFile(file, "not a JSON object");
            }
            return new ConfigJson(file, node, "");
        } catch (NoSuchFileException e) {
            throw IceditException.inFile(file, "file not found");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw IceditException.inFile(file, "invalid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw IceditException.io(file, "cannot read", e);
        }
    }

    /** Reads a file that may be absent; absent gives an empty object. */
    public static ConfigJson readOptional(Path file) {
        return Files.exists(file) ? read(file) : new ConfigJson(file, JSON.createObjectNode(), "");
    }

    /** The object under {@code key} (rope_scaling, say), read with the same checks; null when absent or null. */
    ConfigJson object(String key) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isObject()) {
            throw bad(key, "must be an object", n);
        }
        return new ConfigJson(file, n, prefix + key + ".");
    }

    private IceditException bad(String key, String problem, JsonNode found) {
        String shown = found.toString();
        return IceditException.inFile(file, "key '" + prefix + key + "' " + problem + ", found "
                + (shown.length() > 60 ? shown.substring(0, 60) + "..." : shown));
    }

    public boolean has(String key) {
        JsonNode n = root.get(key);
        return n != null && !n.isNull();
    }

    public JsonNode node(String key) {
        return root.get(key);
    }

    int requireInt(String key) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            throw IceditException.inFile(file, "missing required key '" + prefix + key + "'");
        }
        if (!n.canConvertToInt() || !n.isIntegralNumber()) {
            throw bad(key, "must be an integer", n);
        }
        return n.asInt();
    }

    int intOr(String key, int dflt) {
        return has(key) ? requireInt(key) : dflt;
    }

    Integer intOrNull(String key) {
        return has(key) ? requireInt(key) : null;
    }

    /** A size (layers, heads, widths, lengths): an integer of at least 1. */
    int requireSize(String key) {
        int v = requireInt(key);
        if (v < 1) {
            throw bad(key, "must be a positive integer", root.get(key));
        }
        return v;
    }

    int sizeOr(String key, int dflt) {
        return has(key) ? requireSize(key) : dflt;
    }

    Integer sizeOrNull(String key) {
        return has(key) ? requireSize(key) : null;
    }

    /** The default of a size that is absent, computed from others ({@code how}); it too must fit an int. */
    int derivedSize(String key, String how, long value) {
        if (value < 1 || value > Integer.MAX_VALUE) {
            throw IceditException.inFile(file, "key '" + prefix + key + "' is not given and its default, " + how
                    + " = " + value + ", is not a size (1 to " + Integer.MAX_VALUE + ")");
        }
        return (int) value;
    }

    double doubleOr(String key, double dflt) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isNumber()) {
            throw bad(key, "must be a number", n);
        }
        double v = n.asDouble();
        if (!Double.isFinite(v)) {
            throw bad(key, "must be a finite number", n);
        }
        return v;
    }

    /** A positive finite number (an epsilon, a base frequency, a scaling factor). */
    double positiveOr(String key, double dflt) {
        double v = doubleOr(key, dflt);
        if (!(v > 0)) {
            throw bad(key, "must be a positive number", root.get(key));
        }
        return v;
    }

    public boolean boolOr(String key, boolean dflt) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw bad(key, "must be true or false", n);
        }
        return n.asBoolean();
    }

    String stringOr(String key, String dflt) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isTextual()) {
            throw bad(key, "must be a string", n);
        }
        return n.asText();
    }

    /**
     * A token id that may be written as one integer or a list of them (Llama 3 lists several EOS ids); negative ids
     * mean none.
     */
    public List<Long> tokenIds(String key) {
        List<Long> ids = new ArrayList<>();
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            return ids;
        }
        List<JsonNode> given = new ArrayList<>();
        if (n.isArray()) {
            n.forEach(given::add);
        } else {
            given.add(n);
        }
        for (JsonNode x : given) {
            if (!x.isIntegralNumber() || !x.canConvertToLong()) {
                throw bad(key, "must be a token id or a list of them", n);
            }
            if (x.asLong() >= 0) { // early Llama conversions write -1 for "none"
                ids.add(x.asLong());
            }
        }
        return ids;
    }
}
