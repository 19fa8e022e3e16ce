package dev.icedit.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.icedit.tensor.IceditException;
import io.javalin.http.Context;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * JSON in and out: snake_case field names. Requests are read strictly, so that a mistake is a 400 naming the field
 * rather than a guess: unknown fields are refused (typos), and no value is coerced to the field's type ("8" and
 * 8.5 are not an integer, 42 is not a string, "true" and 1 are not booleans, a string is not a list).
 */
final class Json {
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .withCoercionConfig(LogicalType.Textual, c -> c.setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build();

    private Json() {}

    /** The request body as a {@code type}; a missing, malformed or ill-typed body is a 400 naming the problem. */
    static <T> T body(Context ctx, Class<T> type) {
        byte[] body = ctx.bodyAsBytes();
        if (isBlank(body)) {
            throw ApiError.badRequest("request body is empty; send a JSON object");
        }
        return parse(body, type);
    }

    /** As {@link #body}, with an empty body read as {@code {}}. */
    static <T> T optionalBody(Context ctx, Class<T> type) {
        byte[] body = ctx.bodyAsBytes();
        return parse(isBlank(body) ? "{}".getBytes(StandardCharsets.UTF_8) : body, type);
    }

    static <T> T parse(String text, Class<T> type) {
        return parse(text.getBytes(StandardCharsets.UTF_8), type);
    }

    /**
     * Reads the JSON (as bytes, so that invalid UTF-8 is an error rather than replacement characters), then maps it
     * to {@code type}; a value of the wrong type is described in JSON's terms ("expected an integer, got the string
     * \"8\"").
     */
    static <T> T parse(byte[] body, Class<T> type) {
        JsonNode tree;
        try {
            tree = MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiError.badRequest("invalid JSON: " + oneLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw ApiError.badRequest("cannot read the request body: " + oneLine(e.getMessage()));
        }
        if (tree == null || !tree.isObject()) {
            throw ApiError.badRequest("request body must be a JSON object, not " + describe(tree));
        }
        return convert(tree, type, "");
    }

    /**
     * Maps a JSON object to {@code type} as strictly as a request body; {@code field} names where the object is
     * ("hparams"), or is "" for the body itself.
     */
    static <T> T convert(JsonNode tree, Class<T> type, String field) {
        String prefix = field.isEmpty() ? "" : field + ".";
        try {
            return MAPPER.treeToValue(tree, type);
        } catch (UnrecognizedPropertyException e) {
            throw ApiError.badRequest("unknown field '" + prefix + path(e) + "' (known: " + e.getKnownPropertyIds()
                    .stream().map(Object::toString).sorted().collect(Collectors.joining(", ")) + ")");
        } catch (MismatchedInputException e) {
            String expected = jsonType(e.getTargetType());
            JsonNode found = at(tree, e);
            boolean typeError = expected != null && found != null && !expected.equals(jsonType(found));
            throw ApiError.badRequest((e.getPath().isEmpty() ? field.isEmpty() ? "bad request body" : field
                    : "bad value for '" + prefix + path(e) + "'") + ": " + (typeError
                    ? "expected " + expected + ", got " + describe(found) : oneLine(e.getOriginalMessage())));
        } catch (JsonMappingException e) {
            for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
                if (c instanceof IceditException || c instanceof ApiError) {
                    throw ApiError.badRequest((field.isEmpty() ? "" : field + ": ") + c.getMessage());
                }
            }
            throw ApiError.badRequest((e.getPath().isEmpty() ? "bad request body: " : "bad value for '" + prefix
                    + path(e) + "': ") + oneLine(e.getOriginalMessage()));
        } catch (JsonProcessingException e) {
            throw ApiError.badRequest("bad request body: " + oneLine(e.getOriginalMessage()));
        }
    }

    private static boolean isBlank(byte[] body) {
        for (byte b : body) {
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                return false;
            }
        }
        return true;
    }

    /** The JSON type a Java target type takes, or null for types without an obvious one. */
    private static String jsonType(Class<?> t) {
        if (t == null) {
            return null;
        }
        if (t == Integer.class || t == int.class || t == Long.class || t == long.class || t == Short.class
                || t == short.class) {
            return "an integer";
        }
        if (t == Double.class || t == double.class || t == Float.class || t == float.class) {
            return "a number";
        }
        if (t == Boolean.class || t == boolean.class) {
            return "true or false";
        }
        if (CharSequence.class.isAssignableFrom(t)) {
            return "a string";
        }
        if (Collection.class.isAssignableFrom(t) || t.isArray()) {
            return "a list";
        }
        if (Map.class.isAssignableFrom(t) || t.isRecord()) {
            return "an object";
        }
        return null;
    }

    /** The JSON type of a value, in the words {@link #jsonType(Class)} uses. */
    private static String jsonType(JsonNode n) {
        return switch (n.getNodeType()) {
            case NUMBER -> n.isIntegralNumber() ? "an integer" : "a number";
            case STRING -> "a string";
            case BOOLEAN -> "true or false";
            case ARRAY -> "a list";
            case OBJECT -> "an object";
            default -> "null";
        };
    }

    /** The value a mapping error is about, found in the tree by the error's path. */
    private static JsonNode at(JsonNode tree, JsonMappingException e) {
        JsonNode n = tree;
        for (JsonMappingException.Reference r : e.getPath()) {
            if (n == null) {
                return null;
            }
            n = r.getFieldName() != null ? n.get(r.getFieldName()) : r.getIndex() >= 0 ? n.get(r.getIndex()) : n;
        }
        return n;
    }

    private static String describe(JsonNode n) {
        if (n == null || n.isMissingNode()) {
            return "nothing";
        }
        String text = n.toString();
        String shown = text.length() > 40 ? text.substring(0, 40) + "..." : text;
        return switch (n.getNodeType()) {
            case STRING -> "the string " + shown;
            case NUMBER -> "the number " + shown;
            case BOOLEAN, NULL -> shown;
            case ARRAY -> "a list";
            case OBJECT -> "an object";
            default -> shown;
        };
    }

    /** Dotted path of the field a mapping error is about, e.g. {@code requests[0].target}. */
    private static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                sb.append(sb.length() == 0 ? "" : ".").append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.length() == 0 ? "(body)" : sb.toString();
    }

    static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s+", " ").strip();
    }
}
