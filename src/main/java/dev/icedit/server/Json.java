package dev.icedit.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import dev.icedit.tensor.IceditException;
import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.util.stream.Collectors;

/** JSON in and out: snake_case field names; unknown fields in a request are refused, so typos do not pass silently. */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    private Json() {}

    /** The request body as a {@code type}; a missing, malformed or ill-typed body is a 400 naming the problem. */
    static <T> T body(Context ctx, Class<T> type) {
        String text = new String(ctx.bodyAsBytes(), StandardCharsets.UTF_8);
        if (text.isBlank()) {
            throw ApiError.badRequest("request body is empty; send a JSON object");
        }
        return parse(text, type);
    }

    /** As {@link #body}, with an empty body read as {@code {}}. */
    static <T> T optionalBody(Context ctx, Class<T> type) {
        String text = new String(ctx.bodyAsBytes(), StandardCharsets.UTF_8);
        return parse(text.isBlank() ? "{}" : text, type);
    }

    static <T> T parse(String text, Class<T> type) {
        try {
            T value = MAPPER.readValue(text, type);
            if (value == null) {
                throw ApiError.badRequest("request body must be a JSON object, not null");
            }
            return value;
        } catch (UnrecognizedPropertyException e) {
            throw ApiError.badRequest("unknown field '" + path(e) + "' (known: " + e.getKnownPropertyIds().stream()
                    .map(Object::toString).sorted().collect(Collectors.joining(", ")) + ")");
        } catch (MismatchedInputException e) {
            throw ApiError.badRequest("bad value for '" + path(e) + "': " + oneLine(e.getOriginalMessage()));
        } catch (JsonMappingException e) {
            for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
                if (c instanceof IceditException || c instanceof ApiError) {
                    throw ApiError.badRequest(c.getMessage());
                }
                if (c instanceof JsonProcessingException p && !(c instanceof JsonMappingException)) {
                    throw ApiError.badRequest("invalid JSON: " + oneLine(p.getOriginalMessage()));
                }
            }
            throw ApiError.badRequest("bad request body: " + oneLine(e.getOriginalMessage()));
        } catch (JsonProcessingException e) {
            throw ApiError.badRequest("invalid JSON: " + oneLine(e.getOriginalMessage()));
        }
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
