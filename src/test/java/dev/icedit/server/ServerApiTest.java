package dev.icedit.server;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.icedit.edit.EditJournal;
import dev.icedit.edit.EditPatch;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import dev.icedit.model.generate.Scorer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The REST API over real HTTP, against a server on a real model started in the test. */
class ServerApiTest {
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

    /** Each test starts from the model as loaded. */
    @AfterEach
    void revertEverything() {
        JsonNode edits = http.get("/api/edits").json().get("edits");
        for (int i = edits.size() - 1; i >= 0; i--) {
            if (edits.get(i).get("status").asText().equals("applied")) {
                http.post("/api/edits/" + edits.get(i).get("id").asText() + "/revert?cascade=true", null);
            }
        }
        assertThat(f.model.modifiedWeights()).isEmpty();
    }

    private static String greedy(String prompt, int tokens) {
        Http.Response r = http.post("/api/generate", Map.of("prompt", prompt, "max_new_tokens", tokens));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json().get("continuation").asText();
    }

    @Test
    void describesTheModelAndItsMethods() {
        JsonNode info = http.get("/api/model").json();
        assertThat(info.get("layers").asInt()).isEqualTo(f.model.config().numLayers());
        assertThat(info.get("vocab_size").asInt()).isEqualTo(f.model.config().vocabSize());
        assertThat(info.get("auth").asText()).isEqualTo("none");
        assertThat(info.get("limits").get("max_new_tokens").asInt()).isEqualTo(256);
        JsonNode methods = http.get("/api/methods").json().get("methods");
        List<String> names = new ArrayList<>();
        methods.forEach(m -> names.add(m.get("name").asText()));
        assertThat(names).contains("ICE", "FT-L", "FT-M");
        assertThat(http.get("/").body()).contains("<title>icedit playground</title>");
    }

    @Test
    void generatesWhatTheLibraryGenerates() {
        String prompt = "The Eiffel Tower is located in";
        String viaHttp = greedy(prompt, 8);
        String direct = Generator.generateText(f.model, prompt, GenerationOptions.greedy(8));
        assertThat(viaHttp).isEqualTo(direct).isNotEmpty();

        Http.Response sampled = http.post("/api/generate", Map.of("prompt", prompt, "max_new_tokens", 8,
                "temperature", 1.0, "seed", 7));
        Http.Response again = http.post("/api/generate", Map.of("prompt", prompt, "max_new_tokens", 8,
                "temperature", 1.0, "seed", 7));
        assertThat(sampled.json().get("continuation")).isEqualTo(again.json().get("continuation"));
        assertThat(sampled.json().get("tokens").size()).isBetween(1, 8);
    }

    @Test
    void scoresContinuationsAndListsNextTokens() {
        String prompt = "The capital of France is";
        JsonNode score = http.post("/api/score", Map.of("prompt", prompt, "continuation", " Paris")).json();
        long[] p = f.model.tokenizer().encode(prompt);
        long[] c = f.model.tokenizer().continuation(prompt, " Paris").tokens();
        Scorer.Scored direct = Scorer.score(f.model, p, c);
        assertThat(score.get("tokens").size()).isEqualTo(c.length);
        assertThat(score.get("total_logprob").asDouble()).isCloseTo(direct.sum(), org.assertj.core.data.Offset.offset(1e-5));
        assertThat(score.get("probability").asDouble()).isBetween(0.0, 1.0);

        JsonNode next = http.post("/api/next-tokens", Map.of("prompt", prompt, "k", 5)).json().get("tokens");
        assertThat(next.size()).isEqualTo(5);
        double sum = 0;
        for (int i = 0; i < next.size(); i++) {
            sum += next.get(i).get("probability").asDouble();
            if (i > 0) {
                assertThat(next.get(i).get("probability").asDouble())
                        .isLessThanOrEqualTo(next.get(i - 1).get("probability").asDouble());
            }
        }
        assertThat(sum).isLessThanOrEqualTo(1.0 + 1e-6);
        long greedyFirst = Generator.generate(f.model, List.of(p), GenerationOptions.greedy(1)).get(0)[0];
        assertThat(next.get(0).get("id").asLong()).isEqualTo(greedyFirst);
    }

    @Test
    void iceEditChangesTheAnswerAndRevertRestoresTheWeightsBitForBit() throws Exception {
        Map<String, byte[]> original = mlpOutputBytes(f.model);
        String before = greedy(ServerFixture.PROMPT, 4);
        assertThat(before.strip()).doesNotStartWith(ServerFixture.TARGET);

        ObjectNode body = ServerFixture.editBody(ServerFixture.PROMPT, ServerFixture.TARGET);
        body.putArray("rephrases").add("Zorland's capital city is");
        Http.Response submitted = http.post("/api/edits", body);
        assertThat(submitted.status()).as(submitted.body()).isEqualTo(202);
        String jobId = submitted.json().get("id").asText();
        assertThat(submitted.headers().firstValue("Location")).hasValue("/api/jobs/" + jobId);

        List<Http.Event> events = http.events(jobId);
        List<Http.Event> progress = events.stream().filter(e -> e.name().equals("progress")).toList();
        Http.Event done = events.get(events.size() - 1);
        assertThat(done.name()).isEqualTo("done");
        JsonNode job = done.data();
        assertThat(job.get("status").asText()).as(job.toString()).isEqualTo("succeeded");
        assertThat(progress).hasSize(job.get("total_steps").asInt()).isNotEmpty();
        for (int i = 0; i < progress.size(); i++) {
            assertThat(progress.get(i).data().get("step").asInt()).isEqualTo(i + 1);
            assertThat(progress.get(i).data().get("loss").asDouble())
                    .isEqualTo(job.get("loss_per_step").get(i).asDouble());
        }
        System.out.println("[server test] ICE loss per step: " + job.get("loss_per_step"));

        JsonNode result = job.get("result");
        String editId = result.get("edit_id").asText();
        JsonNode edited = result.get("comparisons").get(0);
        assertThat(edited.get("kind").asText()).isEqualTo("edited");
        assertThat(edited.get("before").get("continuation").asText().strip()).doesNotStartWith(ServerFixture.TARGET);
        assertThat(edited.get("after").get("continuation").asText().strip()).startsWith(ServerFixture.TARGET);
        assertThat(edited.get("after").get("target_probability").asDouble())
                .isGreaterThan(edited.get("before").get("target_probability").asDouble());
        assertThat(edited.get("after").get("target_is_greedy").asBoolean()).isTrue();
        assertThat(result.get("comparisons").get(1).get("kind").asText()).isEqualTo("rephrase");
        assertThat(result.get("comparisons").get(2).get("kind").asText()).isEqualTo("unrelated");
        // polling sees the same final state as the stream
        assertThat(http.get("/api/jobs/" + jobId).json().get("result")).isEqualTo(result);

        String after = greedy(ServerFixture.PROMPT, 4);
        assertThat(after.strip()).startsWith(ServerFixture.TARGET);

        List<JsonNode> journal = journal("applied");
        assertThat(journal).hasSize(1);
        assertThat(journal.get(0).get("id").asText()).isEqualTo(editId);
        assertThat(journal.get(0).get("job_id").asText()).isEqualTo(jobId);
        assertThat(journal.get(0).get("requests").get(0).get("target").asText()).isEqualTo(ServerFixture.TARGET);

        // patch export: as a download, and written into the work directory
        Path downloaded = tmp.resolve("downloaded.patch.safetensors");
        Files.write(downloaded, http.bytes("/api/edits/" + editId + "/patch"));
        EditPatch.Metadata meta = EditPatch.metadata(downloaded);
        assertThat(meta.method()).isEqualTo("ICE");
        assertThat(meta.requests().get(0).target()).isEqualTo(ServerFixture.TARGET);
        Http.Response written = http.post("/api/edits/" + editId + "/patch", Map.of("name", "zorland.patch"));
        assertThat(written.status()).as(written.body()).isEqualTo(201);
        Path inWorkdir = f.server.workdir().resolve("zorland.patch");
        assertThat(Files.readAllBytes(inWorkdir)).isEqualTo(Files.readAllBytes(downloaded));
        assertThat(http.post("/api/edits/" + editId + "/patch", Map.of("name", "zorland.patch")).status())
                .isEqualTo(409);

        // the patch carries the edit to another copy of the base model
        try (LanguageModel copy = LanguageModel.load(ServerFixture.modelDir())) {
            EditPatch.apply(downloaded, new EditJournal(copy));
            assertThat(Generator.generateText(copy, ServerFixture.PROMPT, GenerationOptions.greedy(4))).isEqualTo(after);
        }

        // save: a Hugging Face directory that loads with the edit in it
        Http.Response saved = http.post("/api/save", Map.of("name", "edited-model"));
        assertThat(saved.status()).as(saved.body()).isEqualTo(201);
        assertThat(saved.json().get("edits").get(0).asText()).isEqualTo(editId);
        try (LanguageModel reloaded = LanguageModel.load(f.server.workdir().resolve("edited-model"))) {
            assertThat(Generator.generateText(reloaded, ServerFixture.PROMPT, GenerationOptions.greedy(4)))
                    .isEqualTo(after);
        }
        assertThat(http.post("/api/save", Map.of("name", "edited-model")).status()).isEqualTo(409);

        Http.Response reverted = http.post("/api/edits/" + editId + "/revert", null);
        assertThat(reverted.status()).as(reverted.body()).isEqualTo(200);
        assertThat(reverted.json().get("reverted").get(0).asText()).isEqualTo(editId);
        assertThat(reverted.json().get("modified_weights")).isEmpty();
        assertThat(greedy(ServerFixture.PROMPT, 4)).isEqualTo(before);
        assertThat(f.model.modifiedWeights()).isEmpty();
        Map<String, byte[]> restored = mlpOutputBytes(f.model);
        for (String name : original.keySet()) {
            assertThat(restored.get(name)).as(name).isEqualTo(original.get(name));
        }
        // the journal keeps the reverted edit, marked so; a second revert says it was already reverted
        assertThat(journal("applied")).isEmpty();
        JsonNode entry = journal("reverted").stream().filter(e -> e.get("id").asText().equals(editId)).findFirst()
                .orElseThrow();
        assertThat(entry.get("job_id").asText()).isEqualTo(jobId);
        assertThat(entry.has("reverted_at")).isTrue();
        assertThat(entry.get("blocked_by")).isEmpty();
        assertThat(http.get("/api/edits/" + editId).json().get("status").asText()).isEqualTo("reverted");
        Http.Response again = http.post("/api/edits/" + editId + "/revert", null);
        assertThat(again.status()).as(again.body()).isEqualTo(409);
        assertThat(again.error()).contains("edit " + editId + " was already reverted");
        assertThat(again.json().get("status").asText()).isEqualTo("reverted");
        assertThat(http.get("/api/edits/" + editId + "/patch").status()).isEqualTo(409);
        assertThat(http.get("/api/model").json().get("edits_applied").asInt()).isZero();
    }

    @Test
    void savesAndPatchesReplaceOnlyWhatIceditWrote() throws Exception {
        String editId = runEdit(ServerFixture.editBody(ServerFixture.PROMPT, ServerFixture.TARGET));
        Path work = f.server.workdir();
        // a model directory the server saved may be saved over with overwrite; files added to it stay
        assertThat(http.post("/api/save", Map.of("name", "mine")).status()).isEqualTo(201);
        Files.writeString(work.resolve("mine/NOTES.md"), "my notes");
        Http.Response over = http.post("/api/save", Map.of("name", "mine", "overwrite", true));
        assertThat(over.status()).as(over.body()).isEqualTo(201);
        assertThat(work.resolve("mine/NOTES.md")).hasContent("my notes");
        // a directory icedit did not write is never replaced through the API, whatever the body says
        Path project = Files.createDirectories(work.resolve("project/src"));
        Files.writeString(work.resolve("project/config.json"), "{}");
        Files.writeString(project.resolve("main.py"), "x");
        Http.Response refused = http.post("/api/save", Map.of("name", "project", "overwrite", true));
        assertThat(refused.status()).as(refused.body()).isEqualTo(409);
        assertThat(refused.error()).contains("not a model directory icedit saved");
        assertThat(work.resolve("project/config.json")).hasContent("{}");
        assertThat(project.resolve("main.py")).hasContent("x");
        // a patch onto a model directory, or onto a file that is not a patch: 409, nothing touched
        Http.Response ontoModel = http.post("/api/edits/" + editId + "/patch", Map.of("name", "mine", "overwrite", true));
        assertThat(ontoModel.status()).as(ontoModel.body()).isEqualTo(409);
        assertThat(ontoModel.error()).contains("is a directory");
        Http.Response ontoFile = http.post("/api/edits/" + editId + "/patch",
                Map.of("name", "project", "overwrite", true));
        assertThat(ontoFile.status()).as(ontoFile.body()).isEqualTo(409);
        Files.writeString(work.resolve("notes.txt"), "keep me");
        Http.Response ontoText = http.post("/api/edits/" + editId + "/patch",
                Map.of("name", "notes.txt", "overwrite", true));
        assertThat(ontoText.status()).as(ontoText.body()).isEqualTo(409);
        assertThat(ontoText.error()).contains("not an icedit patch");
        assertThat(work.resolve("notes.txt")).hasContent("keep me");
        // a patch replaces a patch
        assertThat(http.post("/api/edits/" + editId + "/patch", Map.of("name", "p.patch")).status()).isEqualTo(201);
        assertThat(http.post("/api/edits/" + editId + "/patch", Map.of("name", "p.patch", "overwrite", true))
                .status()).isEqualTo(201);
    }

    @Test
    void unrelatedPromptsNeverIncludeThePromptBeingEdited() {
        JsonNode defaults = http.get("/api/methods").json().get("default_unrelated_prompts");
        assertThat(defaults.toString()).doesNotContain("The capital of France is"); // the page's example edit
        ObjectNode body = ServerFixture.editBody(ServerFixture.PROMPT, ServerFixture.TARGET);
        body.putArray("unrelated").add(ServerFixture.PROMPT).add("Water is made of hydrogen and");
        Http.Response r = http.post("/api/edits", body);
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        JsonNode job = http.awaitJob(r.json().get("id").asText(), Duration.ofMinutes(10));
        JsonNode result = job.get("result");
        assertThat(result.get("unrelated_left_out").toString()).isEqualTo("[\"" + ServerFixture.PROMPT + "\"]");
        List<String> unrelated = new ArrayList<>();
        result.get("comparisons").forEach(c -> {
            if (c.get("kind").asText().equals("unrelated")) {
                unrelated.add(c.get("prompt").asText());
            }
        });
        assertThat(unrelated).containsExactly("Water is made of hydrogen and");
    }

    @Test
    void revertIsRefusedWhileALaterEditChangedTheSameWeightsUnlessCascading() {
        String first = runEdit(ServerFixture.editBody(ServerFixture.PROMPT, ServerFixture.TARGET));
        String second = runEdit(ServerFixture.editBody("The capital of Morland is", "Berlin"));

        Http.Response refused = http.post("/api/edits/" + first + "/revert", null);
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.error()).contains("later edit(s) " + second).contains("cascade");
        assertThat(refused.json().get("blocked_by").get(0).asText()).isEqualTo(second);
        assertThat(http.get("/api/edits/" + first).json().get("blocked_by").get(0).asText()).isEqualTo(second);

        Http.Response cascaded = http.post("/api/edits/" + first + "/revert", Map.of("cascade", true));
        assertThat(cascaded.status()).as(cascaded.body()).isEqualTo(200);
        assertThat(cascaded.json().get("reverted").toString()).isEqualTo("[\"" + second + "\",\"" + first + "\"]");
        assertThat(f.model.modifiedWeights()).isEmpty();
        assertThat(http.get("/api/edits/" + second).json().get("reverted_with").asText()).isEqualTo(first);
        assertThat(http.get("/api/edits/" + first).json().has("reverted_with")).isFalse();
    }

    @Test
    void aQueuedOrRunningJobCanBeCancelled() {
        ObjectNode body = ServerFixture.editBody(ServerFixture.PROMPT, ServerFixture.TARGET);
        body.set("hparams", ServerFixture.goldenIceHparams(1000)); // long enough to be caught running or queued
        String id = http.post("/api/edits", body).json().get("id").asText();
        Http.Response cancel = http.delete("/api/jobs/" + id);
        assertThat(cancel.status()).as(cancel.body()).isEqualTo(202);
        JsonNode job = http.awaitJob(id, Duration.ofMinutes(5));
        assertThat(job.get("status").asText()).isEqualTo("cancelled");
        assertThat(journal("applied")).isEmpty();
        assertThat(http.get("/api/edits").json().get("edits").findValuesAsText("job_id")).doesNotContain(id);
        assertThat(http.delete("/api/jobs/" + id).status()).isEqualTo(409);
    }

    @Test
    void badRequestsAreAnsweredWithAStatusAndAMessage() {
        record Case(String method, String path, String body, int status, String message) {}
        String longPrompt = "x".repeat(2001);
        List<Case> cases = List.of(
                new Case("POST", "/api/generate", "", 400, "request body is empty"),
                new Case("POST", "/api/generate", "{not json", 400, "invalid JSON"),
                new Case("POST", "/api/generate", "[1, 2]", 400, "must be a JSON object, not a list"),
                new Case("POST", "/api/generate", "{\"prompt\": \"\"}", 400, "'prompt' is required"),
                new Case("POST", "/api/generate", "{\"prompt\": \"hi\", \"max_new_tokens\": 100000}", 400,
                        "max_new_tokens must be between 1 and 256"),
                new Case("POST", "/api/generate", "{\"prompt\": \"hi\", \"max_new_tokens\": \"ten\"}", 400,
                        "bad value for 'max_new_tokens'"),
                new Case("POST", "/api/generate", "{\"prompt\": \"hi\", \"temprature\": 1}", 400,
                        "unknown field 'temprature'"),
                new Case("POST", "/api/generate", "{\"prompt\": \"hi\", \"temperature\": -1}", 400, "temperature"),
                new Case("POST", "/api/generate", "{\"prompt\": \"" + longPrompt + "\"}", 400, "the limit is 2000"),
                new Case("POST", "/api/generate", "{\"prompt\": \"" + "y".repeat(70_000) + "\"}", 413, ""),
                new Case("POST", "/api/score", "{\"prompt\": \"hi\"}", 400, "'continuation' is required"),
                new Case("POST", "/api/next-tokens", "{\"prompt\": \"hi\", \"k\": 0}", 400, "k must be between"),
                new Case("POST", "/api/edits", "{\"prompt\": \"p\"}", 400, "'prompt' and 'target' are required"),
                new Case("POST", "/api/edits", "{\"prompt\": \"p\", \"target\": \" \"}", 400, "empty target"),
                new Case("POST", "/api/edits", "{\"method\": \"NOPE\", \"prompt\": \"p\", \"target\": \"t\"}", 400,
                        "unknown method 'NOPE'"),
                new Case("POST", "/api/edits", "{\"prompt\": \"p\", \"target\": \"t\", \"hparams\": \"no-such\"}",
                        400, "no preset 'no-such' for ICE"),
                new Case("POST", "/api/edits", "{\"prompt\": \"p\", \"target\": \"t\", \"hparams\": \"../../x\"}",
                        400, "not a preset name"),
                new Case("POST", "/api/edits", "{\"prompt\": \"p\", \"target\": \"t\", \"hparams\": "
                        + ServerFixture.goldenIceHparams(5).put("layerz", 1) + "}", 400, "unknown field 'hparams.layerz'"),
                new Case("POST", "/api/edits", "{\"prompt\": \"p\", \"target\": \"t\", \"hparams\": "
                        + ServerFixture.goldenIceHparams(100_000) + "}", 400, "num_steps is 100000"),
                new Case("POST", "/api/edits", "{\"prompt\": \"p\", \"target\": \"t\", \"hparams\": 5}", 400,
                        "hparams must be a preset name"),
                new Case("POST", "/api/edits", "{\"requests\": [], \"prompt\": \"p\"}", 400, "not both"),
                new Case("POST", "/api/edits", "{\"requests\": [{\"prompt\": \"p\", \"target\": \"t\", \"x\": 1}]}",
                        400, "unknown field 'requests[0].x'"),
                new Case("GET", "/api/edits/e999", null, 404, "no edit with id 'e999'"),
                new Case("POST", "/api/edits/e999/revert", null, 404, "no edit with id"),
                new Case("POST", "/api/edits/e1/revert?cascade=maybe", null, 400, "cascade must be true or false"),
                new Case("GET", "/api/edits/e999/patch", null, 404, "no edit with id"),
                new Case("GET", "/api/jobs/j999", null, 404, "no job with id 'j999'"),
                new Case("GET", "/api/nothing-here", null, 404, "no route GET /api/nothing-here"),
                new Case("DELETE", "/api/model", null, 405, ""),
                new Case("POST", "/api/save", "{}", 400, "'name' is required"));
        for (Case c : cases) {
            Http.Response r = c.method().equals("GET") ? http.get(c.path())
                    : c.method().equals("DELETE") ? http.delete(c.path()) : http.post(c.path(), c.body());
            assertThat(r.status()).as(c + " -> " + r.body()).isEqualTo(c.status());
            assertThat(r.headers().firstValue("Content-Type").orElse("")).as(c.toString()).startsWith("application/json");
            assertThat(r.error()).as(c + " -> " + r.body()).isNotBlank().contains(c.message());
            assertThat(r.body()).as(c.toString()).doesNotContain("Exception").doesNotContain("\tat ");
        }
        Http.Response events = http.get("/api/jobs/j999/events");
        assertThat(events.status()).isEqualTo(404);
    }

    @Test
    void aJobThatFailsSaysWhy() {
        // accepted (nothing is wrong with the request itself), then the loss diverges as the job runs
        ObjectNode body = ServerFixture.editBody(ServerFixture.PROMPT, ServerFixture.TARGET);
        ObjectNode hp = ServerFixture.goldenIceHparams(3);
        hp.put("lr", 1e38); // steps overflow float32, the weights become infinite
        hp.put("norm_constraint", 1e38);
        body.set("hparams", hp);
        Http.Response r = http.post("/api/edits", body);
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        JsonNode job = http.awaitJob(r.json().get("id").asText(), Duration.ofMinutes(2));
        assertThat(job.get("status").asText()).isEqualTo("failed");
        assertThat(job.get("error").asText()).contains("loss became").contains("not applied");
        assertThat(f.model.modifiedWeights()).isEmpty();
    }

    @Test
    void aJobLongerThanTheContextWindowIsRefusedAtSubmission() {
        // within the request limits, but ICE's pass with context would not fit the model's context window
        String prompt = ServerFixture.PROMPT + " said to be".repeat((2000 - ServerFixture.PROMPT.length()) / 11);
        ObjectNode body = ServerFixture.editBody(prompt, ServerFixture.TARGET);
        body.set("hparams", ServerFixture.goldenIceHparams(2));
        Http.Response r = http.post("/api/edits", body);
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.json().get("error").asText()).contains("context window");
        assertThat(f.model.modifiedWeights()).isEmpty();
    }

    /** The journal's entries of one status ("applied" or "reverted"), oldest first. */
    private static List<JsonNode> journal(String status) {
        List<JsonNode> out = new ArrayList<>();
        http.get("/api/edits").json().get("edits").forEach(e -> {
            if (e.get("status").asText().equals(status)) {
                out.add(e);
            }
        });
        return out;
    }

    private static String runEdit(ObjectNode body) {
        Http.Response r = http.post("/api/edits", body);
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        JsonNode job = http.awaitJob(r.json().get("id").asText(), Duration.ofMinutes(10));
        assertThat(job.get("status").asText()).as(job.toString()).isEqualTo("succeeded");
        return job.get("result").get("edit_id").asText();
    }

    static Map<String, byte[]> mlpOutputBytes(LanguageModel m) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (int l = 0; l < m.config().numLayers(); l++) {
            String name = m.config().mlpOutputWeight(l);
            NDArray a = m.currentWeights().get(name);
            out.put(name, a.toByteArray());
        }
        return out;
    }
}
