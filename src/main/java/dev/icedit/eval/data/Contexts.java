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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Context sentences brought for the cases of a data file ({@code icedit eval --contexts FILE}): JSON lines, one per
 * case, {@code {"index": N, "context": "..." or ["...", ...]}}, where N is the record's 0-based index in the data file
 * (the {@code index} of cases.jsonl). They replace a record's own {@code context}. Any bad line fails the whole file
 * with the line named: a context file is written for one run, so a wrong one should not run half-applied.
 */
public final class Contexts {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Contexts() {}

    /** The file's context sentences by record index, checked against the data file's {@code records}. */
    public static Map<Integer, List<String>> read(Path file, Dataset data) {
        if (!Files.isRegularFile(file)) {
            throw IceditException.inFile(file, Files.exists(file) ? "not a regular file" : "file not found");
        }
        List<String> lines;
        try {
            lines = List.of(Files.readString(file, StandardCharsets.UTF_8).split("\r?\n", -1));
        } catch (java.nio.charset.CharacterCodingException e) {
            throw IceditException.inFile(file, "not UTF-8 text (JSON lines are UTF-8)");
        } catch (IOException e) {
            throw IceditException.inFile(file, "cannot read: " + e.getMessage());
        }
        java.util.Set<Integer> usable = new java.util.HashSet<>();
        data.cases().forEach(c -> usable.add(c.index()));
        Map<Integer, List<String>> out = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = i == 0 && lines.get(i).startsWith("\uFEFF") ? lines.get(i).substring(1) : lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            String at = "line " + (i + 1) + ": ";
            JsonNode r;
            try {
                r = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                throw IceditException.inFile(file, at + "not valid JSON: " + e.getOriginalMessage());
            }
            if (!r.isObject()) {
                throw IceditException.inFile(file, at + "expected {\"index\": N, \"context\": ...}, got "
                        + r.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
            }
            for (java.util.Iterator<String> it = r.fieldNames(); it.hasNext();) {
                String key = it.next();
                if (!key.equals("index") && !key.equals("context")) {
                    throw IceditException.inFile(file, at + "unknown key '" + key + "' (known: index, context)");
                }
            }
            JsonNode n = r.get("index");
            if (n == null || n.isNull()) {
                throw IceditException.inFile(file, at + "missing 'index' (the record's 0-based index in "
                        + data.file().getFileName() + ")");
            }
            if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 0) {
                throw IceditException.inFile(file, at + "'index' must be an integer >= 0, got " + n);
            }
            int index = n.asInt();
            if (index >= data.records()) {
                throw IceditException.inFile(file, at + "index " + index + " is past the last record of "
                        + data.file().getFileName() + " (" + data.records() + " records)");
            }
            if (!usable.contains(index)) {
                throw IceditException.inFile(file, at + "record " + index + " of " + data.file().getFileName()
                        + " is not a usable case (it was skipped)");
            }
            if (out.containsKey(index)) {
                throw IceditException.inFile(file, at + "index " + index + " is given twice");
            }
            JsonNode c = r.get("context");
            if (c == null || c.isNull()) {
                throw IceditException.inFile(file, at + "missing 'context' (a string or a list of strings)");
            }
            try {
                out.put(index, RecordParser.context(c, "context"));
            } catch (RecordParser.Malformed e) {
                throw IceditException.inFile(file, at + e.getMessage());
            }
        }
        if (out.isEmpty()) {
            throw IceditException.inFile(file, "no contexts (expected JSON lines {\"index\": N, \"context\": ...})");
        }
        return out;
    }

    /** The data with the file's contexts attached to their cases. */
    public static Dataset attach(Dataset data, Path file) {
        Map<Integer, List<String>> contexts = read(file, data);
        List<EvalCase> cases = new ArrayList<>();
        for (EvalCase c : data.cases()) {
            List<String> s = contexts.get(c.index());
            cases.add(s == null ? c : c.withContext(s));
        }
        return new Dataset(data.file(), data.layout(), cases, data.skipped(), data.records());
    }
}
