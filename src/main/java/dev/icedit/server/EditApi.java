package dev.icedit.server;

import dev.icedit.edit.EditPatch;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.SaveTarget;
import io.javalin.http.Context;
import io.javalin.http.sse.SseClient;
import io.javalin.http.sse.SseHandler;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/** Routes that edit the model, follow edit jobs, revert edits, and write patches and models to the work directory. */
final class EditApi {
    record RevertBody(Boolean cascade) {}

    record NameBody(String name, Boolean overwrite) {}

    /** Event streams hold a thread each while open; this bounds them. */
    private static final int MAX_EVENT_STREAMS = 64;
    private static final long KEEP_ALIVE_MILLIS = 15_000;

    private final LanguageModel model;
    private final EditService service;
    private final WorkDir workdir;
    private final Limits limits;
    private final AtomicInteger openStreams = new AtomicInteger();

    EditApi(LanguageModel model, EditService service, WorkDir workdir, Limits limits) {
        this.model = model;
        this.service = service;
        this.workdir = workdir;
        this.limits = limits;
    }

    void submit(Context ctx) {
        EditPlan plan = EditPlan.of(Json.body(ctx, EditPlan.Body.class), model.config(), limits);
        plan.editor().check(model, plan.requests()); // a job that cannot run is refused now, not failed later
        EditJob job = service.submit(plan);
        Map<String, Object> r = new LinkedHashMap<>(job.snapshot());
        r.put("status_url", "/api/jobs/" + job.id);
        r.put("events_url", "/api/jobs/" + job.id + "/events");
        ctx.status(202).header("Location", "/api/jobs/" + job.id).json(r);
    }

    void list(Context ctx) {
        ctx.json(Map.of("edits", service.journalView()));
    }

    void get(Context ctx) {
        ctx.json(service.edit(ctx.pathParam("id")));
    }

    void revert(Context ctx) {
        String id = ctx.pathParam("id");
        RevertBody b = Json.optionalBody(ctx, RevertBody.class);
        String q = ctx.queryParam("cascade");
        if (q != null && !q.equals("true") && !q.equals("false")) {
            throw ApiError.badRequest("cascade must be true or false, got '" + WorkDir.printable(q) + "'");
        }
        boolean cascade = "true".equals(q) || Boolean.TRUE.equals(b.cascade());
        List<String> reverted = service.revert(id, cascade);
        ctx.json(Map.of("reverted", reverted, "modified_weights", model.modifiedWeights()));
    }

    /** The patch as a download; it is written to a temporary file first, which is gone once it is sent. */
    void downloadPatch(Context ctx) throws IOException {
        String id = ctx.pathParam("id");
        Path dir = Files.createTempDirectory("icedit-patch-");
        Path tmp = dir.resolve("patch.safetensors");
        InputStream in;
        try {
            service.writePatch(id, tmp);
            in = Files.newInputStream(tmp);
        } finally {
            Files.deleteIfExists(tmp); // an open stream still reads the unlinked file
            Files.deleteIfExists(dir);
        }
        ctx.contentType("application/octet-stream")
                .header("Content-Disposition", "attachment; filename=\"icedit-" + id + ".patch.safetensors\"")
                .result(in);
    }

    void writePatch(Context ctx) {
        String id = ctx.pathParam("id");
        NameBody b = Json.body(ctx, NameBody.class);
        Path target = workdir.resolve(b.name(), "name");
        refuseExisting(target, b, "patch");
        if (Files.isDirectory(target)) {
            throw ApiError.conflict("'" + b.name() + "' is a directory in the work directory (a saved model?); a"
                    + " patch needs a file name", Map.of());
        }
        if (Files.exists(target) && !EditPatch.isPatch(target)) {
            throw ApiError.conflict("'" + b.name() + "' in the work directory is not an icedit patch; the server"
                    + " replaces only patches: choose another name", Map.of());
        }
        service.writePatch(id, target);
        ctx.status(201).json(Map.of("edit_id", id, "name", b.name(), "bytes", size(target)));
    }

    void save(Context ctx) {
        NameBody b = Json.body(ctx, NameBody.class);
        Path target = workdir.resolve(b.name(), "name");
        if (target.equals(model.directory())) {
            throw ApiError.conflict("'" + b.name() + "' is the directory the served model was loaded from", Map.of());
        }
        refuseExisting(target, b, "directory");
        SaveTarget.Kind kind = SaveTarget.kind(target);
        if (kind == SaveTarget.Kind.OTHER) {
            throw ApiError.conflict("'" + b.name() + "' in the work directory is not a model directory icedit"
                    + " saved (it has no " + SaveTarget.MANIFEST + "); the server replaces only those: choose another"
                    + " name", Map.of());
        }
        List<String> edits = service.save(target);
        ctx.status(201).json(Map.of("name", b.name(), "edits", edits));
    }

    private static void refuseExisting(Path target, NameBody b, String what) {
        if (Files.exists(target) && !Boolean.TRUE.equals(b.overwrite())) {
            throw ApiError.conflict("a " + what + " named '" + b.name() + "' already exists in the work directory;"
                    + " pass \"overwrite\": true to replace it", Map.of());
        }
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return -1;
        }
    }

    void jobs(Context ctx) {
        ctx.json(Map.of("jobs", service.jobs()));
    }

    void job(Context ctx) {
        ctx.json(service.job(ctx.pathParam("id")).snapshot());
    }

    void cancel(Context ctx) {
        ctx.status(202).json(service.cancel(ctx.pathParam("id")).snapshot());
    }

    /** Server-sent events of a job, from its first event to "done"; the stream then ends. */
    void events(Context ctx) throws Exception {
        EditJob job = service.job(ctx.pathParam("id"));
        if (!acceptsEventStream(ctx.header("Accept"))) {
            throw new ApiError(406, "this route answers text/event-stream only (your Accept header excludes it);"
                    + " accept it, or poll GET /api/jobs/" + job.id, Map.of());
        }
        if (openStreams.incrementAndGet() > MAX_EVENT_STREAMS) {
            openStreams.decrementAndGet();
            throw ApiError.unavailable("too many open event streams (" + MAX_EVENT_STREAMS + "); poll GET /api/jobs/"
                    + job.id + " instead");
        }
        try {
            new SseHandler(0, client -> stream(job, client)).handle(ctx);
        } catch (RuntimeException e) {
            openStreams.decrementAndGet();
            throw e;
        }
    }

    /**
     * Whether a client takes an event stream: no Accept header, or one listing text/event-stream, text/* or
     * *&#47;* (what curl and most clients send), without q=0.
     */
    static boolean acceptsEventStream(String accept) {
        if (accept == null || accept.isBlank()) {
            return true;
        }
        for (String part : accept.split(",")) {
            String[] params = part.split(";");
            String type = params[0].strip().toLowerCase(java.util.Locale.ROOT);
            boolean refused = false;
            for (int i = 1; i < params.length; i++) {
                refused |= params[i].strip().replace(" ", "").matches("q=0(\\.0*)?");
            }
            if (!refused && (type.equals("text/event-stream") || type.equals("text/*") || type.equals("*/*"))) {
                return true;
            }
        }
        return false;
    }

    private void stream(EditJob job, SseClient client) {
        int next = 0;
        try {
            while (!client.terminated()) {
                List<EditJob.Event> batch = job.eventsFrom(next, KEEP_ALIVE_MILLIS);
                if (batch.isEmpty()) {
                    client.sendComment("keep-alive"); // also notices a client that went away
                    continue;
                }
                for (EditJob.Event e : batch) {
                    client.sendEvent(e.name(), e.data(), String.valueOf(next++));
                    if (e.name().equals("done")) {
                        return;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            openStreams.decrementAndGet();
            client.close();
        }
    }
}
