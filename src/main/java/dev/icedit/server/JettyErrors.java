package dev.icedit.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.nio.ByteBuffer;
import java.util.Map;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The errors Jetty answers itself, before a request reaches a route (a malformed request line or URI, headers too
 * large, no Host header), as the API's JSON {@code {"error": "..."}} rather than Jetty's HTML page.
 */
final class JettyErrors extends ErrorHandler {
    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
            Callback callback) throws JsonProcessingException {
        byte[] body = body(code, message);
        HttpFields.Mutable headers = response.getHeaders();
        headers.put(HttpHeader.CONTENT_TYPE, "application/json");
        headers.put(HttpHeader.CONTENT_LENGTH, String.valueOf(body.length));
        headers.put("X-Content-Type-Options", "nosniff");
        response.write(true, ByteBuffer.wrap(body), callback);
    }

    /** "HTTP 431 Request Header Fields Too Large", with Jetty's own detail when it has a different one. */
    static byte[] body(int code, String message) throws JsonProcessingException {
        String status = "HTTP " + code + " " + HttpStatus.getMessage(code);
        String detail = message == null || message.isBlank() || message.equals(HttpStatus.getMessage(code))
                ? "" : ": " + message;
        return Json.MAPPER.writeValueAsBytes(Map.of("error", Json.oneLine(status + detail)));
    }
}
