package dev.icedit.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Typed reads of a Hugging Face JSON file, with errors that name the file and the key. */
final class ConfigJson {
    static final ObjectMapper JSON = new ObjectMapper();

    final Path file;
    final JsonNode root;

    private ConfigJson(Path file, JsonNode root) {
        this.file = file;
        this.root = root;
    }

    static ConfigJson read(Path file) {
        try {
            JsonNode node = JSON.readTree(Files.readAllBytes(file));
            if (node == null || !node.isObject()) {
                throw IceditException.inFile(file, "not a JSON object");
            }
            return new ConfigJson(file, node);
        } catch (NoSuchFileException e) {
            throw IceditException.inFile(file, "file not found");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw IceditException.inFile(file, "invalid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw IceditException.inFile(file, "cannot read: " + e.getMessage());
        }
    }

    /** Reads a file that may be absent; absent gives an empty object. */
    static ConfigJson readOptional(Path file) {
        return Files.exists(file) ? read(file) : new ConfigJson(file, JSON.createObjectNode());
    }

    boolean has(String key) {
        JsonNode n = root.get(key);
        return n != null && !n.isNull();
    }

    JsonNode node(String key) {
        return root.get(key);
    }

    int requireInt(String key) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            throw IceditException.inFile(file, "missing required key '" + key + "'");
        }
        if (!n.canConvertToInt() || !n.isIntegralNumber()) {
            throw IceditException.inFile(file, "key '" + key + "' must be an integer, found " + n);
        }
        return n.asInt();
    }

    int intOr(String key, int dflt) {
        return has(key) ? requireInt(key) : dflt;
    }

    Integer intOrNull(String key) {
        return has(key) ? requireInt(key) : null;
    }

    double doubleOr(String key, double dflt) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isNumber()) {
            throw IceditException.inFile(file, "key '" + key + "' must be a number, found " + n);
        }
        return n.asDouble();
    }

    boolean boolOr(String key, boolean dflt) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw IceditException.inFile(file, "key '" + key + "' must be true or false, found " + n);
        }
        return n.asBoolean();
    }

    String stringOr(String key, String dflt) {
        JsonNode n = root.get(key);
        return n == null || n.isNull() ? dflt : n.asText();
    }

    /** A token id that may be written as one integer or a list of them (Llama 3 lists several EOS ids). */
    List<Long> tokenIds(String key) {
        List<Long> ids = new ArrayList<>();
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            return ids;
        }
        if (n.isArray()) {
            n.forEach(x -> ids.add(x.asLong()));
        } else if (n.isIntegralNumber()) {
            ids.add(n.asLong());
        } else {
            throw IceditException.inFile(file, "key '" + key + "' must be a token id or a list of them, found " + n);
        }
        return ids;
    }
}
