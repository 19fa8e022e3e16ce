package dev.icedit.server;

import dev.icedit.tensor.IceditException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;

/**
 * Where the server listens and what it may touch.
 *
 * @param host address to bind; anything but a loopback address needs a token
 * @param port TCP port (0 picks a free one)
 * @param workdir the only directory requests may write into (patches, saved models), by plain file names
 * @param token when set, every API request must carry {@code Authorization: Bearer TOKEN}
 * @param limits request bounds
 */
public record ServerOptions(String host, int port, Path workdir, String token, Limits limits) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int MIN_TOKEN_LENGTH = 16;

    public ServerOptions {
        if (host == null || host.isBlank()) {
            throw new IceditException("--host must not be empty");
        }
        if (port < 0 || port > 65535) {
            throw new IceditException("--port must be between 0 and 65535, got " + port);
        }
        if (workdir == null) {
            throw new IceditException("a work directory is required");
        }
        if (token != null && token.length() < MIN_TOKEN_LENGTH) {
            throw new IceditException("--token must be at least " + MIN_TOKEN_LENGTH + " characters");
        }
        if (token != null && !token.chars().allMatch(c -> c > 32 && c < 127)) {
            throw new IceditException("--token must be printable ASCII without spaces");
        }
        if (!isLoopback(host) && token == null) {
            throw new IceditException("listening on " + host + " (not a loopback address) needs --token: every request"
                    + " must then carry 'Authorization: Bearer TOKEN'");
        }
        if (limits == null) {
            limits = Limits.defaults();
        }
    }

    public static ServerOptions loopback(int port, Path workdir) {
        return new ServerOptions(DEFAULT_HOST, port, workdir, null, Limits.defaults());
    }

    public ServerOptions withToken(String t) {
        return new ServerOptions(host, port, workdir, t, limits);
    }

    public ServerOptions withLimits(Limits l) {
        return new ServerOptions(host, port, workdir, token, l);
    }

    /** Whether the host is a loopback address; names are resolved, so "localhost" counts. */
    static boolean isLoopback(String host) {
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        try {
            InetAddress[] all = InetAddress.getAllByName(h);
            for (InetAddress a : all) {
                if (!a.isLoopbackAddress()) {
                    return false;
                }
            }
            return all.length > 0;
        } catch (UnknownHostException e) {
            throw new IceditException("--host '" + host + "' cannot be resolved");
        }
    }
}
