package dev.icedit.server;

import io.javalin.http.Context;
import io.javalin.http.Handler;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Locale;
import java.util.Set;

/**
 * Who may call the server. Runs before every route:
 * <ul>
 *   <li>with a token, every request but the static page assets must carry {@code Authorization: Bearer TOKEN}
 *       (compared in constant time);
 *   <li>without one (loopback only), the Host header must name the server as a loopback address literal
 *       (127.0.0.1, 127.0.0.2, ::1), "localhost", or the host it was told to listen on, so a web page cannot reach
 *       the server through a DNS name rebound to 127.0.0.1;
 *   <li>a request with an Origin header must come from the server's own origin, so another site open in the
 *       user's browser cannot make it edit, revert or save (the server sends no CORS headers either).
 * </ul>
 */
final class Access implements Handler {
    /** The page shell: no data, no actions; its script asks for the token and sends it with every API call. */
    static final Set<String> PUBLIC_PATHS = Set.of("/", "/app.js", "/style.css");
    private static final Set<String> LOOPBACK_NAMES = Set.of("localhost", "127.0.0.1", "::1", "[::1]");

    private final byte[] expected;
    /** The --host the server listens on, as a Host header would name it. */
    private final String bindHost;

    Access(String token, String bindHost) {
        this.expected = token == null ? null : ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
        this.bindHost = hostName(bindHost);
    }

    @Override
    public void handle(Context ctx) {
        String host = ctx.header("Host");
        if (expected == null && (host == null || !isOwnName(hostName(host)))) {
            throw new ApiError(403, "Host header '" + WorkDir.printable(String.valueOf(host)) + "' is not a loopback"
                    + " name; this server only answers requests to localhost, a loopback address or " + bindHost,
                    java.util.Map.of());
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

    /**
     * Whether a Host header's name reaches this server without DNS: the host it listens on, "localhost", or a
     * loopback address written as a literal (a rebinding attack needs a DNS name, so literals are safe).
     */
    private boolean isOwnName(String name) {
        return name.equals(bindHost) || LOOPBACK_NAMES.contains(name) || isLoopbackLiteral(name);
    }

    static boolean isLoopbackLiteral(String name) {
        if (name.matches("\\d{1,3}(\\.\\d{1,3}){3}")) { // 127.0.0.0/8
            String[] octets = name.split("\\.");
            for (String o : octets) {
                if (Integer.parseInt(o) > 255) {
                    return false;
                }
            }
            return octets[0].equals("127");
        }
        if (!name.contains(":") || !name.matches("[0-9a-f:.]+")) {
            return false; // a name: never resolved here
        }
        try {
            return InetAddress.getByName(name).isLoopbackAddress(); // with a colon it is parsed, never looked up
        } catch (UnknownHostException e) {
            return false;
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
