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
 *
 * <p>One top-level key is not a hyper-parameter: {@value #TUNED_ON}, which {@code icedit tune} writes to record the
 * cases it tuned on (the evaluation reads it to leave them out); loading ignores it.
 */
public final class HyperParams {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
    private static final ObjectMapper PLAIN = new ObjectMapper();
    /** Provenance written by {@code icedit tune}; not a hyper-parameter. */
    public static final String TUNED_ON = "tuned_on";

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
            com.fasterxml.jackson.databind.JsonNode tree = YAML.readTree(in);
            if (tree == null || tree.isMissingNode() || tree.isNull()) {
                throw new IceditException(where + ": empty hyper-parameter file");
            }
            if (tree instanceof com.fasterxml.jackson.databind.node.ObjectNode o) {
                o.remove(TUNED_ON);
            }
            T value = YAML.treeToValue(tree, type);
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

    /**
     * The same hyper-parameters with some keys changed (by their YAML names), checked like a file; for derived
     * presets and tuning candidates.
     */
    @SuppressWarnings("unchecked")
    public static <T> T with(T hparams, Map<String, Object> changes) {
        Map<String, Object> m = new java.util.LinkedHashMap<>(asMap(hparams));
        java.util.Set<String> known = keys(hparams);
        for (String key : changes.keySet()) {
            if (!known.contains(key)) {
                throw new IceditException("unknown key '" + key + "' (known: " + known + ")");
            }
        }
        m.putAll(changes);
        try {
            return (T) YAML.convertValue(m, hparams.getClass());
        } catch (IllegalArgumentException e) {
            Throwable c = e.getCause() != null && e.getCause().getCause() instanceof IceditException ie ? ie : e;
            throw new IceditException("hyper-parameters " + changes + ": " + c.getMessage(), e);
        }
    }

    /** Every YAML key of a hyper-parameter record, including those {@link #asMap} leaves out while unset. */
    static java.util.Set<String> keys(Object hparams) {
        java.util.Set<String> out = new java.util.LinkedHashSet<>(asMap(hparams).keySet());
        Class<?> type = hparams.getClass();
        if (type.isRecord()) {
            for (java.lang.reflect.RecordComponent c : type.getRecordComponents()) {
                try { // the annotation of a record component lands on its field
                    var p = type.getDeclaredField(c.getName())
                            .getAnnotation(com.fasterxml.jackson.annotation.JsonProperty.class);
                    out.add(p != null && !p.value().isEmpty() ? p.value() : c.getName());
                } catch (NoSuchFieldException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return out;
    }

    /** KEY=VALUE options ({@code --set}) as changes for {@link #with}: each value read as YAML. */
    public static Map<String, Object> parseValues(Map<String, String> keyValues) {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        keyValues.forEach((k, v) -> out.put(k, parseValue(v)));
        return out;
    }

    /** A value written as YAML ("64", "[3, 4]", "0.5", "text", "null"), as a file would hold it. */
    public static Object parseValue(String yaml) {
        try {
            return YAML.readValue(yaml, Object.class);
        } catch (IOException e) {
            throw new IceditException("'" + yaml + "' is not a YAML value: " + e.getMessage());
        }
    }

    /**
     * The hyper-parameters as a YAML document in the record's key order, after {@code comment} (each line written
     * as a YAML comment) and followed by {@code extra} top-level entries (such as {@value #TUNED_ON}).
     */
    public static String toYaml(Object hparams, String comment, Map<String, Object> extra) {
        Map<String, Object> m = new java.util.LinkedHashMap<>(asMap(hparams));
        if (extra != null) {
            m.putAll(extra);
        }
        StringBuilder sb = new StringBuilder();
        if (comment != null && !comment.isBlank()) {
            for (String line : comment.strip().split("\n", -1)) {
                sb.append(line.isEmpty() ? "#" : "# " + line).append('\n');
            }
        }
        try {
            sb.append(YAML_OUT.writeValueAsString(m));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return sb.toString();
    }

    private static final ObjectMapper YAML_OUT = new ObjectMapper(YAMLFactory.builder()
            .disable(com.fasterxml.jackson.dataformat.yaml.YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(com.fasterxml.jackson.dataformat.yaml.YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .build());

    /** The record as a map of its YAML keys, for reports and patch metadata. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> asMap(Object hparams) {
        return PLAIN.convertValue(hparams, Map.class);
    }
}
