package dev.icedit.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The hand-written OpenAPI description matches the routes the server registers, both ways. */
class OpenApiTest {
    private static final Set<String> OPERATIONS = Set.of("get", "post", "put", "patch", "delete", "head", "options");

    @TempDir Path tmp;

    @Test
    void everyRegisteredRouteIsDescribedAndEveryDescribedRouteExists() {
        try (ServerFixture f = ServerFixture.start(tmp.resolve("work"))) {
            JsonNode doc = f.http.get("/openapi.json").json();
            assertThat(doc.get("openapi").asText()).startsWith("3.");
            Set<String> described = new TreeSet<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = doc.get("paths").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> path = it.next();
                path.getValue().fieldNames().forEachRemaining(op -> {
                    if (OPERATIONS.contains(op)) {
                        described.add(op.toUpperCase(Locale.ROOT) + " " + path.getKey());
                    }
                });
            }
            Set<String> registered = new TreeSet<>(f.server.routes());
            System.out.println("[openapi] " + registered.size() + " routes: " + registered);
            assertThat(registered).isNotEmpty();
            assertThat(described).as("routes in openapi.json").isEqualTo(registered);

            List<String> refs = new ArrayList<>();
            collectRefs(doc, refs);
            for (String ref : refs) {
                assertThat(ref).startsWith("#/");
                assertThat(doc.at(ref.substring(1)).isMissingNode()).as("$ref " + ref + " resolves").isFalse();
            }
        }
    }

    private static void collectRefs(JsonNode node, List<String> out) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> {
                if (e.getKey().equals("$ref")) {
                    out.add(e.getValue().asText());
                } else {
                    collectRefs(e.getValue(), out);
                }
            });
        } else if (node.isArray()) {
            node.forEach(n -> collectRefs(n, out));
        }
    }
}
