package dev.icedit.server;

import dev.icedit.edit.Editors;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import dev.icedit.model.generate.NextTokens;
import dev.icedit.model.generate.Scorer;
import dev.icedit.model.tokenizer.Tokenizer;
import dev.icedit.model.tokenizer.Unicode;
import dev.icedit.tensor.Backend;
import io.javalin.http.Context;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Read-only routes over the loaded model: info, generation, scoring, next-token probabilities. Each forward pass
 * holds a lease on the weights for its whole duration (inside {@link Generator}, {@link Scorer} and
 * {@link NextTokens}), so it sees the weights of one moment even while an edit is installed; at most
 * {@link Limits#maxConcurrentForwards} run at once.
 */
final class ModelApi {
    record GenerateBody(String prompt, Integer maxNewTokens, Integer minNewTokens, Double temperature, Integer topK,
            Double topP, Long seed, Boolean stopAtEos) {}

    record ScoreBody(String prompt, String continuation) {}

    record NextTokensBody(String prompt, Integer k) {}

    private static final int DEFAULT_NEW_TOKENS = 20;
    private static final int DEFAULT_TOP_K = 10;
    private static final long BUSY_WAIT_SECONDS = 120;

    private final LanguageModel model;
    private final Limits limits;
    private final Semaphore forwards;

    ModelApi(LanguageModel model, Limits limits) {
        this.model = model;
        this.limits = limits;
        this.forwards = new Semaphore(limits.maxConcurrentForwards(), true);
    }

    Map<String, Object> info(EditService edits, boolean tokenRequired) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", model.directory().getFileName().toString());
        m.put("model_type", model.config().modelType());
        m.put("layers", model.config().numLayers());
        m.put("hidden_size", model.config().hiddenSize());
        m.put("vocab_size", model.config().vocabSize());
        m.put("context_length", model.config().maxPositions());
        m.put("parameters", model.parameterCount());
        m.put("compute_dtype", model.computeType().toString().toLowerCase(java.util.Locale.ROOT));
        m.put("device", Backend.deviceName(model.device()));
        m.put("chat_template", chatTemplate());
        m.put("edits_applied", edits.journalSize());
        m.put("modified_weights", model.modifiedWeights());
        m.put("methods", Editors.names());
        m.put("auth", tokenRequired ? "bearer" : "none");
        m.put("limits", limits);
        return m;
    }

    private boolean chatTemplate() {
        try {
            return model.tokenizer().chatTemplate();
        } catch (RuntimeException noTokenizer) {
            return false;
        }
    }

    void generate(Context ctx) {
        GenerateBody b = Json.body(ctx, GenerateBody.class);
        String prompt = text("prompt", b.prompt());
        int max = b.maxNewTokens() == null ? DEFAULT_NEW_TOKENS : b.maxNewTokens();
        if (max < 1 || max > limits.maxNewTokens()) {
            throw ApiError.badRequest("max_new_tokens must be between 1 and " + limits.maxNewTokens() + ", got " + max);
        }
        if (b.topK() != null && (b.topK() < 0 || b.topK() > limits.maxTopK())) {
            throw ApiError.badRequest("top_k must be between 0 (off) and " + limits.maxTopK() + ", got " + b.topK());
        }
        GenerationOptions options = new GenerationOptions(max, b.minNewTokens() == null ? 0 : b.minNewTokens(),
                b.temperature() == null ? 0 : b.temperature(), b.topK() == null ? 0 : b.topK(),
                b.topP() == null ? 1 : b.topP(), b.seed() == null ? 0 : b.seed(),
                b.stopAtEos() == null || b.stopAtEos());
        Tokenizer tok = model.tokenizer();
        long[] ids = tok.encodePrompt(prompt);
        long start = System.nanoTime();
        long[] out = withForwardSlot(() -> Generator.generate(model, List.of(ids), options).get(0));
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("prompt", prompt);
        r.put("continuation", tok.decode(out));
        r.put("tokens", tokens(tok, out));
        r.put("prompt_tokens", ids.length);
        r.put("finish_reason", out.length > 0 && tok.isEos(out[out.length - 1]) ? "eos" : "length");
        r.put("seconds", (System.nanoTime() - start) / 1e9);
        ctx.json(r);
    }

    void score(Context ctx) {
        ScoreBody b = Json.body(ctx, ScoreBody.class);
        String prompt = text("prompt", b.prompt());
        String continuation = text("continuation", b.continuation());
        Tokenizer tok = model.tokenizer();
        Tokenizer.Continuation joint = tok.continuation(prompt, continuation);
        long[] promptIds = joint.prompt();
        long[] contIds = joint.tokens();
        if (promptIds.length + contIds.length > model.config().maxPositions()) {
            throw ApiError.badRequest("prompt and continuation are " + (promptIds.length + contIds.length)
                    + " tokens, more than the model's " + model.config().maxPositions() + "-token context");
        }
        Scorer.Scored s = withForwardSlot(() -> Scorer.score(model, promptIds, contIds));
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < contIds.length; i++) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("id", contIds[i]);
            row.put("text", tok.decode(new long[] {contIds[i]}));
            row.put("logprob", s.logProbs()[i]);
            row.put("argmax_id", s.argmax()[i]);
            row.put("argmax_text", tok.decode(new long[] {s.argmax()[i]}));
            rows.add(row);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("prompt", prompt);
        r.put("continuation", continuation);
        r.put("tokens", rows);
        r.put("boundary_merged", joint.merged());
        r.put("total_logprob", s.sum());
        r.put("probability", Math.exp(s.sum()));
        r.put("token_accuracy", s.tokenAccuracy());
        ctx.json(r);
    }

    void nextTokens(Context ctx) {
        NextTokensBody b = Json.body(ctx, NextTokensBody.class);
        String prompt = text("prompt", b.prompt());
        int k = b.k() == null ? DEFAULT_TOP_K : b.k();
        if (k < 1 || k > limits.maxTopK()) {
            throw ApiError.badRequest("k must be between 1 and " + limits.maxTopK() + ", got " + k);
        }
        Tokenizer tok = model.tokenizer();
        long[] ids = tok.encodePrompt(prompt);
        if (ids.length > model.config().maxPositions()) {
            throw ApiError.badRequest("prompt is " + ids.length + " tokens, more than the model's "
                    + model.config().maxPositions() + "-token context");
        }
        List<NextTokens.Candidate> top = withForwardSlot(() -> NextTokens.top(model, ids, k));
        List<Map<String, Object>> rows = new ArrayList<>();
        for (NextTokens.Candidate c : top) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("id", c.id());
            row.put("text", tok.decode(new long[] {c.id()}));
            row.put("probability", c.probability());
            rows.add(row);
        }
        ctx.json(Map.of("prompt", prompt, "tokens", rows));
    }

    /** A required, bounded text field. */
    String text(String field, String value) {
        if (value == null || value.isEmpty()) {
            throw ApiError.badRequest("'" + field + "' is required and must not be empty");
        }
        if (value.length() > limits.maxPromptChars()) {
            throw ApiError.badRequest("'" + field + "' is " + value.length() + " characters; the limit is "
                    + limits.maxPromptChars());
        }
        String problem = Unicode.problem(value, "'" + field + "'");
        if (problem != null) {
            throw ApiError.badRequest(problem);
        }
        return value;
    }

    private static List<Map<String, Object>> tokens(Tokenizer tok, long[] ids) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (long id : ids) {
            out.add(Map.of("id", id, "text", tok.decode(new long[] {id})));
        }
        return out;
    }

    private <T> T withForwardSlot(java.util.function.Supplier<T> work) {
        try {
            if (!forwards.tryAcquire(BUSY_WAIT_SECONDS, TimeUnit.SECONDS)) {
                throw ApiError.unavailable("the server is busy (" + limits.maxConcurrentForwards()
                        + " forward passes running for over " + BUSY_WAIT_SECONDS + " s); try again later");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiError.unavailable("interrupted while waiting for a free slot");
        }
        try {
            return work.get();
        } finally {
            forwards.release();
        }
    }
}
