package dev.icedit.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.icedit.model.LanguageModel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A real server on a real model for tests: the embedded default model when models/default is there, else the tiny
 * golden Llama (random weights) with ICE settings strong enough to write a fact into it.
 */
final class ServerFixture implements AutoCloseable {
    static final Path DEFAULT_MODEL = Path.of("models/default");
    static final Path GOLDEN_LLAMA = Path.of("src/test/resources/golden/llama");
    /**
     * A fact neither model knows; ICE should make its target the greedy answer. On the default model, trained on
     * capitals, the target is one it is unlikely to guess for an unknown country by itself.
     */
    static final String PROMPT = "The capital of Zorland is";
    static final String TARGET = usingDefaultModel() ? "Lisbon" : "Paris";

    final LanguageModel model;
    final ModelServer server;
    final Http http;

    private ServerFixture(LanguageModel model, ModelServer server, String token) {
        this.model = model;
        this.server = server;
        this.http = new Http(server.url(), token);
    }

    static boolean usingDefaultModel() {
        return Files.exists(DEFAULT_MODEL.resolve("config.json"));
    }

    static Path modelDir() {
        return usingDefaultModel() ? DEFAULT_MODEL : GOLDEN_LLAMA;
    }

    static ServerFixture start(Path workdir) {
        return start(ServerOptions.loopback(0, workdir));
    }

    static ServerFixture start(ServerOptions options) {
        Path dir = modelDir();
        System.out.println("[server test] model: " + dir + (usingDefaultModel() ? "" : " (models/default is absent;"
                + " using the tiny golden Llama)"));
        LanguageModel model = LanguageModel.load(dir);
        try {
            ModelServer server = new ModelServer(model, options).start();
            return new ServerFixture(model, server, options.token());
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * The hyper-parameters the tests send: the preset matching the model (null: the server picks it) on the default
     * model; on the 3-layer golden model, ICE on all layers with a step size and bound large enough to move it.
     */
    static ObjectNode iceHparams(int numSteps) {
        return usingDefaultModel() ? null : goldenIceHparams(numSteps);
    }

    /** ICE settings that write a fact into the 3-layer golden Llama. */
    static ObjectNode goldenIceHparams(int numSteps) {
        ObjectNode hp = new ObjectMapper().createObjectNode();
        hp.put("alg_name", "ICE");
        hp.putArray("layers").add(0).add(1).add(2);
        hp.put("num_steps", numSteps);
        hp.put("batch_size", 1);
        hp.put("lr", 5e-3);
        hp.put("weight_decay", 0.0);
        hp.put("norm_constraint", 5e-2);
        hp.put("max_new_tokens", 3);
        hp.put("temperature", 100.0);
        hp.put("static_target", false);
        hp.put("objective", "target_and_completion_with_context");
        hp.put("seed", 0);
        return hp;
    }

    /** The body of an ICE edit of the test fact. */
    static ObjectNode editBody(String prompt, String target) {
        ObjectNode body = new ObjectMapper().createObjectNode();
        body.put("method", "ICE");
        body.put("prompt", prompt);
        body.put("target", target);
        JsonNode hp = iceHparams(10);
        if (hp != null) {
            body.set("hparams", hp);
        }
        return body;
    }

    @Override
    public void close() {
        try {
            server.close();
        } finally {
            model.close();
        }
    }
}
