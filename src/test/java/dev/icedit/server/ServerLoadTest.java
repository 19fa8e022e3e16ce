package dev.icedit.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 20 clients generate concurrently over loopback while an edit is applied and then reverted. Every request must
 * succeed, and every greedy continuation of the edited prompt must be exactly the one before the edit or exactly
 * the one after it: a generation that saw half-installed weights would (with overwhelming likelihood) produce
 * something else. After the round, with the edit reverted, the process's resident memory must be back near its
 * level before the round.
 */
class ServerLoadTest {
    static final int CLIENTS = 20;
    static final int TOKENS = 6;
    /** Requests completed after the install (and after the revert) before the round moves on. */
    static final int REQUESTS_PER_PHASE = 60;
    /**
     * RSS may differ by allocator noise (arenas, JIT, Jetty buffers) but must not grow by what the round handled:
     * at most 64 MiB or 10% of the level before, whichever is larger. A leak of the edit's tensors or of a
     * per-request allocation over the hundreds of requests of a round would exceed it on the default model.
     */
    static final long TOLERANCE_MIB = 64;

    @TempDir Path tmp;

    record Round(int requests, int failures, Map<String, Integer> continuations, double seconds) {}

    @Test
    void concurrentGenerationsDuringAnEditSeeWholeWeightsAndMemoryReturns() throws Exception {
        ServerOptions options = ServerOptions.loopback(0, tmp.resolve("work"))
                .withLimits(Limits.defaults().withMaxConcurrentForwards(CLIENTS));
        try (ServerFixture f = ServerFixture.start(options)) {
            String pre = generate(f.http).get("continuation").asText();

            // warm-up round: JIT, thread pools and allocator arenas reach their working size
            Round warm = round(f, pre, null);
            System.out.printf("[load test] warm-up: %d requests, %d failed, %.1f s%n", warm.requests(),
                    warm.failures(), warm.seconds());
            long rssBefore = settledRssKiB();
            long heapBefore = heapUsedKiB();

            String[] post = new String[1];
            Round r = round(f, pre, post);
            long rssAfter = settledRssKiB();
            long heapAfter = heapUsedKiB();
            // optional soak: more rounds show whether memory keeps growing (-Dicedit.load.rounds=N)
            for (int extra = 1; extra < Integer.getInteger("icedit.load.rounds", 1); extra++) {
                Round more = round(f, pre, new String[1]);
                System.out.printf("[load test] extra round %d: %d requests, %d failed, RSS %.1f MiB%n", extra,
                        more.requests(), more.failures(), settledRssKiB() / 1024.0);
            }

            System.out.printf("[load test] %d clients, %d requests in %.1f s (%.0f req/s), %d failed%n", CLIENTS,
                    r.requests(), r.seconds(), r.requests() / r.seconds(), r.failures());
            System.out.printf("[load test] continuations seen: %s%n", r.continuations());
            System.out.printf("[load test] pre-edit \"%s\", post-edit \"%s\"%n", pre, post[0]);
            System.out.printf("[load test] RSS before round %.1f MiB, after (edit reverted) %.1f MiB, diff %+.1f MiB;"
                    + " tolerance %d MiB or 10%%%n", rssBefore / 1024.0, rssAfter / 1024.0,
                    (rssAfter - rssBefore) / 1024.0, TOLERANCE_MIB);
            System.out.printf("[load test] Java heap in use before %.1f MiB, after %.1f MiB%n", heapBefore / 1024.0,
                    heapAfter / 1024.0);

            assertThat(r.failures()).isZero();
            assertThat(post[0]).isNotEqualTo(pre);
            assertThat(r.continuations().keySet()).as("only whole-weights answers").isSubsetOf(Set.of(pre, post[0]));
            assertThat(r.continuations()).containsKeys(pre, post[0]);
            assertThat(f.model.modifiedWeights()).isEmpty();
            assertThat(generate(f.http).get("continuation").asText()).isEqualTo(pre);
            long tolerance = Math.max(TOLERANCE_MIB * 1024, rssBefore / 10);
            assertThat(rssAfter - rssBefore).as("RSS growth in KiB").isLessThanOrEqualTo(tolerance);
        }
    }

    /**
     * One round: clients generate the edited prompt while an edit is queued, runs and is installed, until
     * {@link #REQUESTS_PER_PHASE} requests finished after it; then it is reverted while they go on, for as many
     * more. With {@code post == null} the edit's answer is not recorded (warm-up).
     */
    private Round round(ServerFixture f, String pre, String[] post) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger done = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger();
        Map<String, Integer> seen = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        long start = System.nanoTime();
        List<Future<?>> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            clients.add(pool.submit(() -> {
                Http http = new Http(f.http.base, null);
                while (!stop.get()) {
                    Http.Response r = http.post("/api/generate", Map.of("prompt", ServerFixture.PROMPT,
                            "max_new_tokens", TOKENS));
                    if (r.status() != 200) {
                        failures.incrementAndGet();
                        System.out.println("[load test] request failed: " + r.status() + " " + r.body());
                    } else {
                        seen.merge(r.json().get("continuation").asText(), 1, Integer::sum);
                    }
                    done.incrementAndGet();
                }
                return null;
            }));
        }
        try {
            awaitMore(done, CLIENTS);
            Http.Response submitted = f.http.post("/api/edits", ServerFixture.editBody(ServerFixture.PROMPT,
                    ServerFixture.TARGET));
            assertThat(submitted.status()).as(submitted.body()).isEqualTo(202);
            JsonNode job = f.http.awaitJob(submitted.json().get("id").asText(), Duration.ofMinutes(10));
            assertThat(job.get("status").asText()).as(job.toString()).isEqualTo("succeeded");
            if (post != null) {
                // the edit is installed and nothing reverts it before this thread does
                post[0] = generate(f.http).get("continuation").asText();
            }
            awaitMore(done, REQUESTS_PER_PHASE);
            String editId = job.get("result").get("edit_id").asText();
            Http.Response reverted = f.http.post("/api/edits/" + editId + "/revert", null);
            assertThat(reverted.status()).as(reverted.body()).isEqualTo(200);
            awaitMore(done, REQUESTS_PER_PHASE);
        } finally {
            stop.set(true);
            pool.shutdown();
            for (Future<?> c : clients) {
                c.get();
            }
        }
        return new Round(done.get(), failures.get(), Map.copyOf(seen), (System.nanoTime() - start) / 1e9);
    }

    private static void awaitMore(AtomicInteger done, int more) throws InterruptedException {
        int target = done.get() + more;
        long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
        while (done.get() < target) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("clients made no progress for 10 minutes");
            }
            Thread.sleep(20);
        }
    }

    private static JsonNode generate(Http http) {
        Http.Response r = http.post("/api/generate", Map.of("prompt", ServerFixture.PROMPT, "max_new_tokens", TOKENS));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    private static long heapUsedKiB() {
        Runtime rt = Runtime.getRuntime();
        return (rt.totalMemory() - rt.freeMemory()) / 1024;
    }

    /** VmRSS of this JVM (the server runs in it) after garbage collection has had a chance to run. */
    private static long settledRssKiB() throws IOException, InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(300);
        }
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
