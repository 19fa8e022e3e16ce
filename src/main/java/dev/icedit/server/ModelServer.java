package dev.icedit.server;

import dev.icedit.edit.EditJournal;
import dev.icedit.edit.Editors;
import dev.icedit.edit.Presets;
import dev.icedit.model.LanguageModel;
import dev.icedit.tensor.IceditException;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;
import io.javalin.router.ParsedEndpoint;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP server of {@code icedit serve}: a REST API over one loaded model and its edit journal, its OpenAPI
 * description at {@code /openapi.json}, and the playground page at {@code /}. A thin layer: the work is done by
 * the model runtime and the edit library. See docs/SERVER.md for the API, the security and the concurrency model.
 */
public final class ModelServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ModelServer.class);
    private static final String WEB = "/dev/icedit/server/";
    /** Only same-origin scripts, styles and images: the page works offline and loads nothing from elsewhere. */
    private static final String PAGE_POLICY = "default-src 'self'; img-src 'self' data:; object-src 'none';"
            + " base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

    private final LanguageModel model;
    private final ServerOptions options;
    private final WorkDir workdir;
    private final EditService edits;
    private final ModelApi modelApi;
    private final EditApi editApi;
    private final Javalin app;
    private final CountDownLatch stopped = new CountDownLatch(1);

    /** Prepares a server for a loaded model; the caller keeps ownership of the model and closes it after. */
    public ModelServer(LanguageModel model, ServerOptions options) {
        this.model = model;
        this.options = options;
        this.workdir = new WorkDir(options.workdir());
        this.edits = new EditService(model, options.limits());
        this.modelApi = new ModelApi(model, options.limits());
        this.editApi = new EditApi(model, edits, workdir, options.limits());
        Map<String, byte[]> assets = new LinkedHashMap<>();
        for (String name : List.of("index.html", "app.js", "style.css", "openapi.json")) {
            assets.put(name, resource(name));
        }
        this.app = Javalin.create(config -> configure(config, assets));
    }

    private void configure(JavalinConfig config, Map<String, byte[]> assets) {
        config.startup.showJavalinBanner = false;
        config.startup.showOldJavalinVersionWarning = false;
        config.jetty.host = options.host();
        config.jetty.port = options.port();
        config.http.maxRequestSize = options.limits().maxBodyBytes();
        config.http.compressionStrategy = CompressionStrategy.NONE; // event streams must not sit in a gzip buffer
        config.http.prefer405over404 = true;
        config.jsonMapper(new JavalinJackson(Json.MAPPER, false));
        config.jetty.modifyServer(server -> server.setErrorHandler(new JettyErrors()));
        config.jetty.modifyServletContextHandler(h -> h.addFilter(new EventStreamAccept(), "/api/jobs/*",
                java.util.EnumSet.of(jakarta.servlet.DispatcherType.REQUEST)));

        var r = config.routes;
        r.before(ctx -> {
            ctx.header("X-Content-Type-Options", "nosniff");
            ctx.header("Referrer-Policy", "no-referrer");
            ctx.header("Cache-Control", "no-store");
        });
        r.before(new Access(options.token(), options.host()));

        r.get("/", ctx -> page(ctx, assets.get("index.html"), "text/html; charset=utf-8"));
        r.get("/app.js", ctx -> page(ctx, assets.get("app.js"), "text/javascript; charset=utf-8"));
        r.get("/style.css", ctx -> page(ctx, assets.get("style.css"), "text/css; charset=utf-8"));
        r.get("/openapi.json", ctx -> ctx.contentType("application/json").result(assets.get("openapi.json")));

        r.get("/api/model", ctx -> ctx.json(modelApi.info(edits, options.token() != null)));
        r.get("/api/methods", this::methods);
        r.post("/api/generate", modelApi::generate);
        r.post("/api/score", modelApi::score);
        r.post("/api/next-tokens", modelApi::nextTokens);

        r.post("/api/edits", editApi::submit);
        r.get("/api/edits", editApi::list);
        r.get("/api/edits/{id}", editApi::get);
        r.post("/api/edits/{id}/revert", editApi::revert);
        r.get("/api/edits/{id}/patch", editApi::downloadPatch);
        r.post("/api/edits/{id}/patch", editApi::writePatch);
        r.get("/api/jobs", editApi::jobs);
        r.get("/api/jobs/{id}", editApi::job);
        r.delete("/api/jobs/{id}", editApi::cancel);
        r.get("/api/jobs/{id}/events", editApi::events);
        r.post("/api/save", editApi::save);

        r.exception(ApiError.class, (e, ctx) -> {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("error", e.getMessage());
            body.putAll(e.details);
            ctx.status(e.status).json(body);
        });
        r.exception(IceditException.class, (e, ctx) -> error(ctx, 400, e.getMessage()));
        r.exception(HttpResponseException.class, (e, ctx) -> error(ctx, e.getStatus(), httpMessage(e, ctx)));
        r.exception(Exception.class, (e, ctx) -> {
            LOG.error("{} {} failed", ctx.method(), ctx.path(), e);
            error(ctx, 500, "internal error (" + e.getClass().getSimpleName() + "); the server log has the details");
        });
    }

    /** Javalin's own refusals, said as the API says its errors. */
    private String httpMessage(HttpResponseException e, Context ctx) {
        String route = ctx.method() + " " + WorkDir.printable(ctx.path());
        return switch (e.getStatus()) {
            case 404 -> "no route " + route + " (the API is described at /openapi.json)";
            case 405 -> ctx.method() + " is not allowed on " + WorkDir.printable(ctx.path());
            case 413 -> "request body is larger than the limit of " + options.limits().maxBodyBytes() + " bytes";
            default -> e.getMessage();
        };
    }

    private static void error(Context ctx, int status, String message) {
        ctx.status(status).json(Map.of("error", message == null || message.isBlank() ? "HTTP " + status : message));
    }

    private static void page(Context ctx, byte[] body, String type) {
        ctx.header("Content-Security-Policy", PAGE_POLICY).contentType(type).result(body);
    }

    private void methods(Context ctx) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (String name : Editors.names()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name);
            m.put("description", Editors.method(name).description());
            m.put("presets", EditPlan.presets(name));
            Presets.Choice preset = Presets.forModel(name, model.config());
            m.put("preset_for_model", preset.name());
            m.put("preset_reason", preset.reason());
            out.add(m);
        }
        ctx.json(Map.of("methods", out, "default_unrelated_prompts", EditPlan.DEFAULT_UNRELATED));
    }

    private static byte[] resource(String name) {
        try (InputStream in = ModelServer.class.getResourceAsStream(WEB + name)) {
            if (in == null) {
                throw new IllegalStateException("missing class path resource " + WEB + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + WEB + name, e);
        }
    }

    /** Starts listening; returns once the port is bound. */
    public ModelServer start() {
        app.start();
        return this;
    }

    public int port() {
        return app.port();
    }

    /** The base URL clients use, e.g. http://127.0.0.1:7070 */
    public String url() {
        String h = options.host().contains(":") && !options.host().startsWith("[") ? "[" + options.host() + "]"
                : options.host();
        return "http://" + h + ":" + port();
    }

    public java.nio.file.Path workdir() {
        return workdir.root();
    }

    /** The edits applied through this server. */
    public EditJournal journal() {
        return edits.journal();
    }

    /** Method and path of every route the server answers, as "GET /api/model". */
    public List<String> routes() {
        List<String> out = new ArrayList<>();
        for (ParsedEndpoint e : app.unsafe.internalRouter.allHttpHandlers()) {
            if (e.endpoint.method.isHttpMethod()) {
                out.add(e.endpoint.method.name() + " " + e.endpoint.path);
            }
        }
        return out;
    }

    /** Blocks until {@link #close} is called (from a shutdown hook, say). */
    public void awaitStop() throws InterruptedException {
        stopped.await();
    }

    /** Stops listening and stops the edit worker; the model and its edits stay as they are. */
    @Override
    public void close() {
        try {
            app.stop();
            edits.close();
        } finally {
            stopped.countDown();
        }
    }
}
