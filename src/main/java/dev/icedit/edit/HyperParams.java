package dev.icedit.edit;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Reads hyper-parameter YAML files into immutable records whose keys are named as the reference implementations
 * name them. An unknown key, a missing required key or a value of the wrong type fails the load with the file and
 * the key named. Shipped presets live on the class path under {@code hparams/METHOD/NAME.yaml}.
 */
public final class HyperParams {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
    private static final ObjectMapper PLAIN = new ObjectMapper();

    private HyperParams() {}

    public static <T> T load(Path file, Class<T> type) {
        if (!Files.exists(file)) {
            throw IceditException.inFile(file, "file not found");
        }
        try (InputStream in = Files.newInputStream(file)) {
            return parse(in, type, file.toString());
        } catch (IOException e) {
            throw IceditException.inFile(file, "cannot read: " + e.getMessage());
        }
    }

    /** Loads a shipped preset, or returns null when there is none by that name. */
    public static <T> T preset(String method, String name, Class<T> type) {
        String resource = "/hparams/" + method + "/" + name + ".yaml";
        try (InputStream in = HyperParams.class.getResourceAsStream(resource)) {
            return in == null ? null : parse(in, type, "preset " + method + "/" + name);
        } catch (IOException e) {
            throw new IceditException("cannot read " + resource + ": " + e.getMessage());
        }
    }

    /**
     * Reads hyper-parameters given as text (YAML, or JSON, which is YAML) with the same checks as a file; {@code where}
     * names the source in error messages.
     */
    public static <T> T parse(String text, Class<T> type, String where) {
        try {
            return parse(new java.io.ByteArrayInputStream(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                    type, where);
        } catch (IOException e) {
            throw new IceditException(where + ": cannot read: " + e.getMessage());
        }
    }

    private static <T> T parse(InputStream in, Class<T> type, String where) throws IOException {
        try {
            T value = YAML.readValue(in, type);
            if (value == null) {
                throw new IceditException(where + ": empty hyper-parameter file");
            }
            return value;
        } catch (UnrecognizedPropertyException e) {
            throw new IceditException(where + ": unknown key '" + e.getPropertyName() + "' (known: "
                    + e.getKnownPropertyIds() + ")");
        } catch (com.fasterxml.jackson.databind.exc.MismatchedInputException e) {
            String path = e.getPath().isEmpty() ? "?" : e.getPath().get(e.getPath().size() - 1).getFieldName();
            throw new IceditException(where + ": bad or missing value for '" + path + "': " + e.getOriginalMessage());
        } catch (com.fasterxml.jackson.databind.JsonMappingException e) {
            Throwable cause = e.getCause() instanceof IceditException ? e.getCause() : null;
            if (cause != null) {
                throw new IceditException(where + ": " + cause.getMessage());
            }
            throw new IceditException(where + ": " + e.getOriginalMessage());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IceditException(where + ": invalid YAML: " + e.getOriginalMessage());
        }
    }

    /** The record as a map of its YAML keys, for reports and patch metadata. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> asMap(Object hparams) {
        return PLAIN.convertValue(hparams, Map.class);
    }
}
