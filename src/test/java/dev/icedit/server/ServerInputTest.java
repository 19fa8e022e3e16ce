package dev.icedit.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the server does with requests a client gets slightly wrong: every error is JSON (Jetty's own included), no
 * value is coerced to the type a field wants, a job that cannot run is refused when it is submitted, and the event
 * stream is served to clients that do not ask for it by name.
 */
class ServerInputTest {
    @TempDir static Path tmp;
    static ServerFixture f;
    static Http http;

    @BeforeAll
    static void start() {
        f = ServerFixture.start(tmp.resolve("work"));
        http = f.http;
    }

    @AfterAll
    static void stop() {
        if (f != null) {
            f.close();
        }
    }

    record Case(String path, String body, String message) {}

    @Test
    void valuesOfTheWrongJsonTypeAreRefusedNamingTheFieldNotCoerced() {
        List<Case> cases = List.of(
                new Case("/api/generate", "{\"prompt\": \"a\", \"max_new_tokens\": \"8\"}",
                        "bad value for 'max_new_tokens': expected an integer, got the string \"8\""),
                new Case("/api/generate", "{\"prompt\": \"a\", \"max_new_tokens\": 8.5}",
                        "bad value for 'max_new_tokens': expected an integer, got the number 8.5"),
                new Case("/api/generate", "{\"prompt\": 42}", "bad value for 'prompt': expected a string, got the"
                        + " number 42"),
                new Case("/api/generate", "{\"prompt\": [\"a\"]}", "'prompt': expected a string, got a list"),
                new Case("/api/generate", "{\"prompt\": \"a\", \"temperature\": \"0.5\"}",
                        "'temperature': expected a number, got the string \"0.5\""),
                new Case("/api/generate", "{\"prompt\": \"a\", \"stop_at_eos\": 1}",
                        "'stop_at_eos': expected true or false, got the number 1"),
                new Case("/api/generate", "{\"prompt\": \"a\", \"seed\": 1.5}", "'seed': expected an integer"),
                new Case("/api/generate", "{\"prompt\": \"a\", \"top_k\": 99999999999}", "'top_k'"),
                new Case("/api/generate", "{\"prompt\": \"a\", \"prompt\": \"b\"}", "Duplicate field 'prompt'"),
                new Case("/api/score", "{\"prompt\": \"a\", \"continuation\": false}",
                        "'continuation': expected a string, got false"),
                new Case("/api/next-tokens", "{\"prompt\": \"a\", \"k\": \"3\"}", "'k': expected an integer"),
                new Case("/api/edits", "{\"prompt\": \"p\", \"target\": 5}", "'target': expected a string"),
                new Case("/api/edits", "{\"prompt\": \"p\", \"target\": \"t\", \"unrelated\": \"x\"}",
                        "'unrelated': expected a list, got the string \"x\""),
                new Case("/api/edits", "{\"requests\": [{\"prompt\": \"p\", \"target\": \"t\", \"context\": [1]}]}",
                        "'requests[0].context[0]': expected a string, got the number 1"),
                new Case("/api/edits", "{\"prompt\": \"p\", \"target\": \"t\", \"seed\": \"5\"}",
                        "'seed': expected an integer, got the string \"5\""),
                new Case("/api/edits", "{\"prompt\": \"p\", \"target\": \"t\", \"hparams\": "
                        + ServerFixture.goldenIceHparams(5).put("num_steps", "5") + "}",
                        "bad value for 'hparams.num_steps': expected an integer, got the string \"5\""),
                new Case("/api/edits/e1/revert", "{\"cascade\": \"true\"}", "'cascade': expected true or false"),
                new Case("/api/save", "{\"name\": 7}", "'name': expected a string"),
                new Case("/api/generate", "[1, 2]", "request body must be a JSON object, not a list"));
        for (Case c : cases) {
            Http.Response r = http.post(c.path(), c.body());
            assertThat(r.status()).as(c + " -> " + r.body()).isEqualTo(400);
            assertThat(r.error()).as(c.toString()).contains(c.message()).doesNotContain("CoercionConfig")
                    .doesNotContain("java.lang");
        }
        assertThat(http.get("/api/jobs").json().get("jobs")).isEmpty();
        // integers are numbers: 1 is a fine temperature
        Http.Response ok = http.post("/api/generate", Map.of("prompt", "The capital of France is", "temperature", 1,
                "max_new_tokens", 2, "seed", 3));
        assertThat(ok.status()).as(ok.body()).isEqualTo(200);
    }

    @Test
    void topKAboveTheAdvertisedMaximumIsRefused() {
        int max = http.get("/api/model").json().path("limits").path("max_top_k").asInt();
        assertThat(max).isPositive();
        Http.Response gen = http.post("/api/generate", Map.of("prompt", "a", "temperature", 1.0, "top_k", max + 1));
        assertThat(gen.status()).isEqualTo(400);
        assertThat(gen.error()).isEqualTo("top_k must be between 0 (off) and " + max + ", got " + (max + 1));
        Http.Response next = http.post("/api/next-tokens", Map.of("prompt", "a", "k", max + 1));
        assertThat(next.status()).isEqualTo(400);
        assertThat(http.post("/api/generate", Map.of("prompt", "a", "temperature", 1.0, "top_k", max,
                "max_new_tokens", 1)).status()).isEqualTo(200);
    }

    @Test
    void aLocateThenEditJobWithoutItsSubjectIsRefusedAtSubmission() {
        for (String method : List.of("ROME", "MEMIT")) {
            Http.Response none = http.post("/api/edits", Map.of("method", method, "prompt",
                    "The capital of Zorland is", "target", "Paris"));
            assertThat(none.status()).as(none.body()).isEqualTo(400);
            assertThat(none.error()).contains(method + " needs the subject of each fact");
            Http.Response elsewhere = http.post("/api/edits", Map.of("method", method, "prompt",
                    "The capital of Zorland is", "target", "Paris", "subject", "Narnia"));
            assertThat(elsewhere.status()).as(elsewhere.body()).isEqualTo(400);
            assertThat(elsewhere.error()).contains("subject 'Narnia' does not occur in the prompt");
        }
        ObjectNode body = ServerFixture.editBody(ServerFixture.PROMPT, ServerFixture.TARGET);
        body.set("hparams", ServerFixture.goldenIceHparams(2).set("layers", Http.JSON.createArrayNode().add(99)));
        Http.Response layer = http.post("/api/edits", body);
        assertThat(layer.status()).as(layer.body()).isEqualTo(400);
        assertThat(layer.error()).contains("layer 99");
        assertThat(http.get("/api/jobs").json().get("jobs")).as("nothing was queued").isEmpty();
    }

    @Test
    void hyperParametersCannotNameServerPaths() {
        for (String key : List.of("stats_dir", "mom2_dataset")) {
            Http.Response r = http.post("/api/edits", "{\"method\": \"ROME\", \"prompt\": \"The capital of Zorland"
                    + " is\", \"target\": \"Paris\", \"subject\": \"Zorland\", \"hparams\": {\"" + key
                    + "\": \"/etc\"}}");
            assertThat(r.status()).as(r.body()).isEqualTo(400);
            assertThat(r.error()).contains("hparams: " + key + " names a path on the server");
        }
    }

    @Test
    void textThatIsNotValidUnicodeIsRefused() {
        Http.Response gen = http.post("/api/generate", "{\"prompt\": \"The capital \\ud800 of\"}");
        assertThat(gen.status()).isEqualTo(400);
        assertThat(gen.error()).isEqualTo("'prompt' contains an unpaired UTF-16 surrogate (\\ud800 at character 12),"
                + " which is not valid Unicode");
        Http.Response edit = http.post("/api/edits", "{\"prompt\": \"p\", \"target\": \"t\\udfff\"}");
        assertThat(edit.status()).isEqualTo(400);
        assertThat(edit.error()).contains("unpaired UTF-16 surrogate");
        Http.Response bytes = http.send(http.request("/api/generate").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[] {'{', '"', 'p', 'r', 'o', 'm', 'p', 't', '"',
                    ':', '"', (byte) 0xff, '"', '}'})).build());
        assertThat(bytes.status()).isEqualTo(400);
        assertThat(bytes.error()).startsWith("invalid JSON").contains("UTF-8");
    }

    @Test
    void theEventStreamIsServedWithoutAnAcceptHeaderAsTheReadmeShowsIt() throws Exception {
        ObjectNode body = ServerFixture.editBody(ServerFixture.PROMPT, ServerFixture.TARGET);
        body.set("hparams", ServerFixture.goldenIceHparams(2));
        String id = http.post("/api/edits", body).json().get("id").asText();
        // what curl -N sends: no Accept header of its own choosing but */*
        for (String accept : new String[] {null, "*/*"}) {
            String raw = raw(f.server.port(), "GET /api/jobs/" + id + "/events HTTP/1.1\r\nHost: 127.0.0.1:"
                    + f.server.port() + "\r\n" + (accept == null ? "" : "Accept: " + accept + "\r\n")
                    + "Connection: close\r\n\r\n");
            assertThat(raw).as(accept).startsWith("HTTP/1.1 200").contains("text/event-stream")
                    .contains("event: done");
        }
        Http.Response json = http.send(http.request("/api/jobs/" + id + "/events").header("Accept",
                "application/json").GET().build());
        assertThat(json.status()).isEqualTo(406);
        assertThat(json.error()).contains("text/event-stream").contains("GET /api/jobs/" + id);
        assertThat(EditApi.acceptsEventStream("text/html, text/*;q=0.5")).isTrue();
        assertThat(EditApi.acceptsEventStream("text/event-stream;q=0")).isFalse();
        http.awaitJob(id, Duration.ofMinutes(5));
    }

    @Test
    void everyErrorIsJsonIncludingJettysOwn() throws Exception {
        int port = f.server.port();
        String host = "Host: 127.0.0.1:" + port + "\r\nConnection: close\r\n";
        Map<String, String> requests = new java.util.LinkedHashMap<>();
        requests.put("GARBAGE\r\n\r\n", "400");
        requests.put("GET /api/%zz HTTP/1.1\r\n" + host + "\r\n", "400");
        requests.put("GET /api/model HTTP/1.1\r\n" + host + "X-Big: " + "a".repeat(20_000) + "\r\n\r\n", "431");
        requests.put("GET /" + "a".repeat(20_000) + " HTTP/1.1\r\n" + host + "\r\n", "414");
        requests.put("GET /api/model HTTP/1.1\r\nConnection: close\r\n\r\n", "400");
        requests.put("GET /api/no-such-route HTTP/1.1\r\n" + host + "\r\n", "404");
        requests.put("PUT /api/model HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n", "405");
        requests.put("POST /api/generate HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: 5"
                + "\r\n\r\n{abc]", "400");
        requests.put("POST /api/generate HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: "
                + "100000\r\n\r\n" + "x".repeat(100_000), "413");
        requests.put("POST /api/generate HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nTransfer-Encoding:"
                + " chunked\r\n\r\n10000\r\n" + "x".repeat(65536) + "\r\n10000\r\n" + "x".repeat(65536)
                + "\r\n0\r\n\r\n", "413");
        for (Map.Entry<String, String> e : requests.entrySet()) {
            String what = e.getKey().substring(0, Math.min(40, e.getKey().indexOf('\r')));
            String raw = raw(port, e.getKey());
            assertThat(raw).as(what).startsWith("HTTP/1.1 " + e.getValue());
            String head = raw.substring(0, raw.indexOf("\r\n\r\n")).toLowerCase(java.util.Locale.ROOT);
            assertThat(head).as(what).contains("content-type: application/json");
            JsonNode error = Http.JSON.readTree(raw.substring(raw.indexOf("\r\n\r\n") + 4)).get("error");
            assertThat(error).as(what).isNotNull();
            assertThat(error.asText()).as(what).isNotBlank().doesNotContain("<html").doesNotContain("\n");
        }
        assertThat(http.get("/api/no-such-route").error()).isEqualTo("no route GET /api/no-such-route (the API is"
                + " described at /openapi.json)");
        assertThat(http.send(http.request("/api/model").PUT(HttpRequest.BodyPublishers.noBody()).build()).error())
                .isEqualTo("PUT is not allowed on /api/model");
        assertThat(http.post("/api/generate", "{\"prompt\": \"" + "y".repeat(70_000) + "\"}").error())
                .isEqualTo("request body is larger than the limit of 65536 bytes");
    }

    @Test
    void aServerOnAnotherLoopbackAddressAnswersRequestsToItsOwnUrl() throws Exception {
        try (ServerFixture other = ServerFixture.start(new ServerOptions("127.0.0.2", 0, tmp.resolve("work2"), null,
                null))) {
            assertThat(other.server.url()).startsWith("http://127.0.0.2:");
            Http.Response r = other.http.get("/api/model");
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            Http.Response sameOrigin = other.http.send(other.http.request("/api/model")
                    .header("Origin", other.server.url()).build());
            assertThat(sameOrigin.status()).isEqualTo(200);
            // names that need DNS are still refused: rebinding protection holds
            String raw = raw("127.0.0.2", other.server.port(), "GET /api/model HTTP/1.1\r\nHost: rebind.example:"
                    + other.server.port() + "\r\nConnection: close\r\n\r\n");
            assertThat(raw).startsWith("HTTP/1.1 403");
        }
        assertThat(Access.isLoopbackLiteral("127.9.9.9")).isTrue();
        assertThat(Access.isLoopbackLiteral("::1")).isTrue();
        assertThat(Access.isLoopbackLiteral("10.0.0.1")).isFalse();
        assertThat(Access.isLoopbackLiteral("127.0.0.300")).isFalse();
        assertThat(Access.isLoopbackLiteral("127.example")).isFalse();
    }

    static String raw(int port, String request) throws Exception {
        return raw("127.0.0.1", port, request);
    }

    static String raw(String address, int port, String request) throws Exception {
        try (Socket s = new Socket(address, port)) {
            s.setSoTimeout(120_000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
