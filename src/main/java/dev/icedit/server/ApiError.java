package dev.icedit.server;

import java.util.Map;

/** A request the server refuses, with the HTTP status and a one-line message (and optional extra fields). */
final class ApiError extends RuntimeException {
    final int status;
    final Map<String, Object> details;

    ApiError(int status, String message, Map<String, Object> details) {
        super(message);
        this.status = status;
        this.details = details;
    }

    static ApiError badRequest(String message) {
        return new ApiError(400, message, Map.of());
    }

    static ApiError notFound(String message) {
        return new ApiError(404, message, Map.of());
    }

    static ApiError conflict(String message, Map<String, Object> details) {
        return new ApiError(409, message, details);
    }

    static ApiError unavailable(String message) {
        return new ApiError(503, message, Map.of());
    }
}
