package dev.icedit.bench;

import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What libtorch's profiler saw during one piece of work: the matrix products' floating-point operations and the
 * bytes of their second operand (the weight, in a linear layer), counted from the shapes it records, and the
 * number of operators called. Counted, not modelled: a product the code did not need still counts.
 */
record TraceCounts(double matmulFlops, double weightBytes, long matmulCalls, long operators,
        Map<String, double[]> topLevel) {

    private record Event(String name, long tid, double ts, double dur) {}

    /** Runs {@code work} under the profiler (shapes recorded) and counts its trace. */
    static TraceCounts of(Runnable work) throws IOException {
        Path trace = Files.createTempFile("icedit-trace", ".json");
        try {
            JniUtils.startProfile(false, true, false);
            work.run();
            JniUtils.stopProfile(trace.toString());
            return read(trace);
        } finally {
            Files.deleteIfExists(trace);
        }
    }

    static TraceCounts read(Path trace) throws IOException {
        ObjectMapper json = new ObjectMapper();
        double flops = 0;
        double bytes = 0;
        long calls = 0;
        long operators = 0;
        // top-level operators (not nested in another on the same thread): name -> {calls, microseconds}
        Map<String, double[]> top = new LinkedHashMap<>();
        Map<Long, Double> openUntil = new LinkedHashMap<>();
        java.util.List<Event> events = new java.util.ArrayList<>();
        try (JsonParser p = json.getFactory().createParser(trace.toFile())) {
            JsonToken first = p.nextToken(); // the legacy profiler writes a bare array of events
            if (first == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME && !"traceEvents".equals(p.currentName())) {
                    p.nextToken();
                    p.skipChildren();
                }
                p.nextToken(); // START_ARRAY of traceEvents
            }
            while (p.nextToken() == JsonToken.START_OBJECT) {
                JsonNode e = json.readTree(p);
                if (!"X".equals(e.path("ph").asText())) {
                    continue;
                }
                String name = e.path("name").asText();
                double ts = e.path("ts").asDouble();
                double dur = e.path("dur").asDouble();
                long tid = e.path("tid").asLong();
                if (name.startsWith("aten::")) {
                    operators++;
                }
                JsonNode shape = e.path("shape");
                if (name.equals("aten::mm") && shape.size() >= 2) {
                    double m = shape.get(0).get(0).asDouble();
                    double k = shape.get(0).get(1).asDouble();
                    double n = shape.get(1).get(1).asDouble();
                    flops += 2 * m * k * n;
                    bytes += 4 * k * n;
                    calls++;
                } else if (name.equals("aten::bmm") && shape.size() >= 2) {
                    double b = shape.get(0).get(0).asDouble();
                    double m = shape.get(0).get(1).asDouble();
                    double k = shape.get(0).get(2).asDouble();
                    double n = shape.get(1).get(2).asDouble();
                    flops += 2 * b * m * k * n;
                    bytes += 4 * b * k * n;
                    calls++;
                }
                events.add(new Event(name, tid, ts, dur));
            }
        }
        events.sort(java.util.Comparator.comparingLong(Event::tid).thenComparingDouble(Event::ts)
                .thenComparingDouble(e -> -e.dur()));
        for (Event e : events) {
            Double until = openUntil.get(e.tid());
            if (until == null || e.ts() >= until) {
                openUntil.put(e.tid(), e.ts() + e.dur());
                double[] agg = top.computeIfAbsent(e.name(), x -> new double[2]);
                agg[0]++;
                agg[1] += e.dur();
            }
        }
        return new TraceCounts(flops, bytes, calls, operators, top);
    }
}
