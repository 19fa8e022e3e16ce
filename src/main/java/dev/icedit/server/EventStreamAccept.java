package dev.icedit.server;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpFilter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Collections;
import java.util.Enumeration;

/**
 * Lets a client that does not name text/event-stream in its Accept header follow a job's events: {@code curl -N}
 * sends {@code Accept: *}{@code /*}, and Javalin's SSE handler streams only to requests that name the type. For an
 * events route whose Accept header admits the stream ({@link EditApi#acceptsEventStream}), the request is passed on
 * as if it had asked for text/event-stream; one that excludes it is left alone and answered 406.
 */
final class EventStreamAccept extends HttpFilter {
    private static final String STREAM = "text/event-stream";

    @Override
    protected void doFilter(HttpServletRequest req, HttpServletResponse res, FilterChain chain)
            throws IOException, ServletException {
        String accept = req.getHeader("Accept");
        boolean events = req.getRequestURI().endsWith("/events");
        if (!events || accept != null && accept.contains(STREAM) || !EditApi.acceptsEventStream(accept)) {
            chain.doFilter(req, res);
            return;
        }
        chain.doFilter(new HttpServletRequestWrapper(req) {
            @Override
            public String getHeader(String name) {
                return name.equalsIgnoreCase("Accept") ? STREAM : super.getHeader(name);
            }

            @Override
            public Enumeration<String> getHeaders(String name) {
                return name.equalsIgnoreCase("Accept") ? Collections.enumeration(java.util.List.of(STREAM))
                        : super.getHeaders(name);
            }
        }, res);
    }
}
