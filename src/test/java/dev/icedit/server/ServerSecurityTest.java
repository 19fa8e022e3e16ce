package dev.icedit.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.icedit.cli.Main;
import dev.icedit.tensor.IceditException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tokens, loopback-only binding, Host and Origin checks, and work-directory confinement, over real HTTP. */
class ServerSecurityTest {
    static final String TOKEN = "test-token-0123456789abcdef";
    @TempDir static Path tmp;
    static ServerFixture f;

    @BeforeAll
    static void start() {
        f = ServerFixture.start(ServerOptions.loopback(0, tmp.resolve("work")).withToken(TOKEN));
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    @Test
    void withATokenEveryApiRequestMustCarryIt() {
        Http anonymous = f.http.withToken(null);
        Http wrong = f.http.withToken("not-the-token-but-long-enough");
        for (String path : List.of("/api/model", "/api/edits", "/api/jobs", "/openapi.json")) {
            Http.Response r = anonymous.get(path);
            assertThat(r.status()).as(path).isEqualTo(401);
            assertThat(r.error()).contains("missing 'Authorization: Bearer TOKEN'");
            assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
            assertThat(wrong.get(path).status()).as(path).isEqualTo(401);
            assertThat(f.http.get(path).status()).as(path).isEqualTo(200);
        }
        Http.Response gen = anonymous.post("/api/generate", Map.of("prompt", "The capital of France is"));
        assertThat(gen.status()).isEqualTo(401);
        Http.Response edit = anonymous.post("/api/edits", ServerFixture.editBody(ServerFixture.PROMPT, "Paris"));
        assertThat(edit.status()).isEqualTo(401);
        assertThat(f.http.get("/api/jobs").json().get("jobs")).isEmpty();
        // a bearer header of another scheme or with the token's prefix only is no token
        assertThat(anonymous.send(anonymous.request("/api/model").header("Authorization", "Basic " + TOKEN).build())
                .status()).isEqualTo(401);
        assertThat(anonymous.send(anonymous.request("/api/model").header("Authorization", "Bearer " + TOKEN
                .substring(0, 10)).build()).status()).isEqualTo(401);
        // the page shell carries no data; its script asks for the token
        assertThat(anonymous.get("/").status()).isEqualTo(200);
        assertThat(anonymous.get("/app.js").status()).isEqualTo(200);
        assertThat(f.http.get("/api/model").json().get("auth").asText()).isEqualTo("bearer");
    }

    @Test
    void aNonLoopbackAddressNeedsAToken() {
        assertThatThrownBy(() -> new ServerOptions("0.0.0.0", 0, tmp, null, null))
                .isInstanceOf(IceditException.class).hasMessageContaining("needs --token");
        assertThatThrownBy(() -> new ServerOptions("0.0.0.0", 0, tmp, "short", null))
                .isInstanceOf(IceditException.class).hasMessageContaining("at least 16 characters");
        assertThat(new ServerOptions("0.0.0.0", 0, tmp, TOKEN, null).token()).isEqualTo(TOKEN);
        assertThat(new ServerOptions("localhost", 0, tmp, null, null).host()).isEqualTo("localhost");

        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new String[] {"serve", "--model", ServerFixture.GOLDEN_LLAMA.toString(), "--host", "0.0.0.0",
            "--port", "0", "--workdir", tmp.resolve("cli-work").toString()}, new PrintWriter(out), new PrintWriter(err));
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).startsWith("error: listening on 0.0.0.0 (not a loopback address) needs --token");
    }

    @Test
    void requestsForAnotherHostOrFromAnotherOriginAreRefused() throws Exception {
        try (ServerFixture open = ServerFixture.start(ServerOptions.loopback(0, tmp.resolve("open-work")))) {
            // a DNS name rebound to 127.0.0.1 arrives with its own Host header
            String raw = rawGet(open.server.port(), "/api/model", "attacker.example:" + open.server.port());
            assertThat(raw).startsWith("HTTP/1.1 403").contains("is not a loopback name");
            assertThat(rawGet(open.server.port(), "/api/model", "localhost:" + open.server.port()))
                    .startsWith("HTTP/1.1 200");

            Http.Response crossSite = open.http.send(open.http.request("/api/edits")
                    .header("Origin", "http://evil.example").header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(Http.JSON.writeValueAsString(
                            ServerFixture.editBody(ServerFixture.PROMPT, "Paris")))).build());
            assertThat(crossSite.status()).isEqualTo(403);
            assertThat(crossSite.error()).contains("cross-origin request from 'http://evil.example' refused");
            assertThat(open.http.get("/api/jobs").json().get("jobs")).isEmpty();

            Http.Response sameSite = open.http.send(open.http.request("/api/model")
                    .header("Origin", open.server.url()).build());
            assertThat(sameSite.status()).isEqualTo(200);
            assertThat(open.http.get("/").headers().firstValue("Content-Security-Policy").orElse(""))
                    .contains("default-src 'self'");
        }
    }

    private static String rawGet(int port, String path, String host) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void namesInRequestsCannotReachOutsideTheWorkDirectory() throws Exception {
        Path work = f.server.workdir();
        Path outside = tmp.resolve("outside");
        Files.createDirectories(outside);
        Files.createSymbolicLink(work.resolve("link-out"), outside);
        List<String> before = listing(tmp);

        List<String> names = List.of("../escape", "..", ".", "/tmp/escape-abs", "sub/dir", "a\\b", ".hidden",
                "evil\u0000name", "%2e%2e%2fescape", "..%2fescape", "", " ", "x".repeat(200),
                work.resolve("../escape").toString(), "link-out", "name\nwith-newline");
        for (String name : names) {
            for (String path : List.of("/api/save", "/api/edits/e1/patch")) {
                Http.Response r = f.http.post(path, Map.of("name", name));
                assertThat(r.status()).as(path + " " + name.replace("\u0000", "\\0") + " -> " + r.body())
                        .isEqualTo(400);
                assertThat(r.error()).containsAnyOf("plain file name", "symbolic link", "'name' is required");
            }
        }
        Http.Response nullName = f.http.post("/api/save", "{\"name\": null}");
        assertThat(nullName.status()).isEqualTo(400);
        assertThat(listing(tmp)).isEqualTo(before);
        try (Stream<Path> s = Files.list(outside)) {
            assertThat(s.toList()).isEmpty();
        }
        assertThat(Path.of("/tmp/escape-abs")).doesNotExist();

        // ids in paths name journal entries, never files
        for (String p : List.of("/api/edits/..%2F..%2Fetc%2Fpasswd/patch", "/api/edits/%2e%2e/patch",
                "/api/jobs/..%2F..%2Fetc%2Fpasswd")) {
            Http.Response r = f.http.send(f.http.request("").uri(URI.create(f.http.base + p)).GET().build());
            assertThat(r.status()).as(p + " -> " + r.body()).isBetween(400, 404);
            assertThat(r.body()).doesNotContain("root:");
        }
        // the one name that is fine lands inside
        Http.Response ok = f.http.post("/api/save", Map.of("name", "fine-name_1.0"));
        assertThat(ok.status()).as(ok.body()).isEqualTo(201);
        assertThat(work.resolve("fine-name_1.0/config.json")).exists();
    }

    private static List<String> listing(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> !p.startsWith(dir.resolve("work"))).map(Path::toString).sorted().toList();
        }
    }

    @Test
    void errorsNeverCarryAStackTrace() {
        JsonNode r = f.http.post("/api/generate", "{\"prompt\": \"unterminated").json();
        assertThat(r.get("error").asText()).startsWith("invalid JSON").doesNotContain("\n");
    }
}
