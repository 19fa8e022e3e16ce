package dev.icedit.eval.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.icedit.edit.HyperParams;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The cases a preset was tuned on, as {@code icedit tune} records them in the preset's YAML under
 * {@code tuned_on}: per data file its name, the SHA-256 of its bytes and the record indices. An evaluation with that
 * preset leaves those cases of the same file (same SHA-256, whatever its path) out.
 */
public record TunedOn(List<Entry> entries) {
    /** The tuning cases of one data file. */
    public record Entry(String data, String sha256, List<Integer> cases) {
        public Entry {
            cases = List.copyOf(cases);
        }
    }

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    public TunedOn {
        entries = List.copyOf(entries);
    }

    /** The value written under {@code tuned_on}. */
    public List<Map<String, Object>> asYaml() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Entry e : entries) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("data", e.data());
            m.put("sha256", e.sha256());
            m.put("cases", e.cases());
            out.add(m);
        }
        return out;
    }

    /**
     * The cases of the data file with SHA-256 {@code sha256} that {@code hparams} (a YAML file, a preset name or
     * null) was tuned on; empty when it names none.
     */
    public static List<Integer> casesIn(String hparams, String sha256) {
        if (hparams == null || !Files.isRegularFile(Path.of(hparams))) {
            return List.of();
        }
        Path file = Path.of(hparams);
        JsonNode root;
        try {
            root = YAML.readTree(file.toFile());
        } catch (IOException e) {
            throw IceditException.inFile(file, "cannot read: " + e.getMessage());
        }
        JsonNode list = root == null ? null : root.get(HyperParams.TUNED_ON);
        if (list == null || list.isNull()) {
            return List.of();
        }
        if (!list.isArray()) {
            throw IceditException.inFile(file, HyperParams.TUNED_ON + " must be a list of {data, sha256, cases}");
        }
        List<Integer> out = new ArrayList<>();
        for (JsonNode e : list) {
            if (!e.path("sha256").isTextual() || !e.path("cases").isArray()) {
                throw IceditException.inFile(file, HyperParams.TUNED_ON + " entries need sha256 and cases, found " + e);
            }
            if (e.get("sha256").asText().equals(sha256)) {
                e.get("cases").forEach(c -> out.add(c.asInt()));
            }
        }
        return out;
    }
}
