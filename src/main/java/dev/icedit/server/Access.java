package dev.icedit.server;

import io.javalin.http.Context;
import io.javalin.http.Handler;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Locale;
import java.util.Set;

/**
 * Who may call the server. Runs before every route:
 * <ul>
 *   <li>with a token, every request but the static page assets must carry {@code Authorization: Bearer TOKEN}
 *       (compared in constant time);
 *   <li>without one (loopback only), the Host header must be a loopback name, so a web page cannot reach the
 *       server through a DNS name rebound to 127.0.0.1;
 *   <li>a request with an Origin header must come from the server's own origin, so another site open in the
 *       user's browser cannot make it edit, revert or save (the server sends no CORS headers either).
 * </ul>
 */
final class Access implements Handler {
    /** The page shell: no data, no actions; its script asks for the token and sends it with every API call. */
    static final Set<String> PUBLIC_PATHS = Set.of("/", "/app.js", "/style.css");
    private static final Set<String> LOOPBACK_NAMES = Set.of("localhost", "127.0.0.1", "::1", "[::1]");

    private final byte[] expected;

    Access(String token) {
        this.expected = token == null ? null : ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void handle(Context ctx) {
        String host = ctx.header("Host");
        if (expected == null && (host == null || !LOOPBACK_NAMES.contains(hostName(host)))) {
            throw new ApiError(403, "Host header '" + WorkDir.printable(String.valueOf(host)) + "' is not a loopback"
                    + " name; this server only answers requests to localhost or 127.0.0.1", java.util.Map.of());
        }
        String origin = ctx.header("Origin");
        if (origin != null && !sameOrigin(origin, host)) {
            throw new ApiError(403, "cross-origin request from '" + WorkDir.printable(origin) + "' refused",
                    java.util.Map.of());
        }
        if (expected != null && !PUBLIC_PATHS.contains(ctx.path())) {
            String auth = ctx.header("Authorization");
            byte[] given = auth == null ? new byte[0] : auth.getBytes(StandardCharsets.UTF_8);
            if (!MessageDigest.isEqual(given, expected)) {
                ctx.header("WWW-Authenticate", "Bearer");
                throw new ApiError(401, auth == null ? "missing 'Authorization: Bearer TOKEN' header"
                        : "wrong token in the Authorization header", java.util.Map.of());
            }
        }
    }

    /** The host part of a Host header: "127.0.0.1:7070" -> "127.0.0.1", "[::1]:7070" -> "::1". */
    static String hostName(String hostHeader) {
        String h = hostHeader.strip().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end < 0 ? h : h.substring(1, end);
        }
        int colon = h.indexOf(':');
        return colon < 0 ? h : h.substring(0, colon);
    }

    private static boolean sameOrigin(String origin, String host) {
        if (host == null) {
            return false;
        }
        try {
            URI o = URI.create(origin.strip());
            String authority = o.getRawAuthority();
            return authority != null && ("http".equals(o.getScheme()) || "https".equals(o.getScheme()))
                    && authority.equalsIgnoreCase(host.strip());
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
