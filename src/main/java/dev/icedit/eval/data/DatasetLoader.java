package dev.icedit.eval.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Reads an evaluation file: a JSON array of records, or JSON lines (one record per line). The layout is recognised
 * from the records' fields: it is the layout most records look like, and it must cover at least half of them, or the
 * file is refused. Records of that layout that cannot be used (a missing prompt, an empty alias list, a line that is
 * not JSON, ...) are skipped and listed with their index and the reason.
 */
public final class DatasetLoader {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private DatasetLoader() {}

    public static Dataset load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw IceditException.inFile(file, Files.exists(file) ? "not a regular file" : "file not found");
        }
        String content;
        try {
            content = Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw IceditException.inFile(file, "not UTF-8 text (JSON files are UTF-8)");
        } catch (IOException e) {
            throw IceditException.inFile(file, "cannot read: " + e.getMessage());
        }
        List<JsonNode> records = new ArrayList<>();
        Map<Integer, String> unreadable = new HashMap<>();
        String body = content.strip();
        if (body.startsWith("\uFEFF")) {
            body = body.substring(1).strip();
        }
        if (body.startsWith("[")) {
            JsonNode root;
            try {
                root = JSON.readTree(body);
            } catch (JsonProcessingException e) {
                // limits (nesting depth, number length) are reported without a location
                String at = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column "
                        + e.getLocation().getColumnNr();
                throw IceditException.inFile(file, "invalid JSON" + at + ": " + e.getOriginalMessage());
            }
            root.forEach(records::add);
        } else if (body.startsWith("{")) {
            readLines(body, records, unreadable);
        } else {
            throw IceditException.inFile(file, body.isEmpty() ? "empty file"
                    : "not a JSON array or JSON lines (it starts with '" + body.charAt(0) + "')");
        }
        if (records.isEmpty()) {
            throw IceditException.inFile(file, "no records");
        }
        Layout layout = detect(file, records);
        List<EvalCase> cases = new ArrayList<>();
        List<Dataset.Skipped> skipped = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) {
            JsonNode r = records.get(i);
            if (r == null) {
                skipped.add(new Dataset.Skipped(i, unreadable.get(i)));
                continue;
            }
            try {
                cases.add(RecordParser.parse(layout, i, r));
            } catch (RecordParser.Malformed e) {
                skipped.add(new Dataset.Skipped(i, e.getMessage()));
            }
        }
        return new Dataset(file, layout, cases, skipped, records.size());
    }

    /** JSON lines: blank lines are ignored; a line that is not JSON becomes a null record, skipped later. */
    private static void readLines(String body, List<JsonNode> records, Map<Integer, String> unreadable) {
        String[] lines = body.split("\r?\n", -1);
        for (int line = 0; line < lines.length; line++) {
            if (lines[line].isBlank()) {
                continue;
            }
            try {
                records.add(JSON.readTree(lines[line]));
            } catch (JsonProcessingException e) {
                unreadable.put(records.size(), "line " + (line + 1) + " is not valid JSON: " + e.getOriginalMessage());
                records.add(null);
            }
        }
    }

    private static Layout detect(Path file, List<JsonNode> records) {
        Map<Layout, Integer> votes = new EnumMap<>(Layout.class);
        for (JsonNode r : records) {
            Layout l = Layout.recognise(r);
            if (l != null) {
                votes.merge(l, 1, Integer::sum);
            }
        }
        Layout best = votes.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(null);
        if (best == null || 2 * votes.get(best) < records.size()) {
            throw IceditException.inFile(file, "not a dataset layout the evaluation knows (" + describe(records)
                    + "); expected " + Layout.expected());
        }
        return best;
    }

    /** The fields of the first object record, or what the first record is. */
    private static String describe(List<JsonNode> records) {
        for (JsonNode r : records) {
            if (r != null && r.isObject()) {
                TreeSet<String> keys = new TreeSet<>();
                for (Iterator<String> it = r.fieldNames(); it.hasNext();) {
                    keys.add(it.next());
                }
                return "records have fields " + keys;
            }
        }
        JsonNode first = records.stream().filter(r -> r != null).findFirst().orElse(null);
        return first == null ? "no record is valid JSON"
                : "records are " + first.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + "s, not objects";
    }
}
