package dev.icedit.eval.data;

import java.nio.file.Path;
import java.util.List;

/**
 * A loaded evaluation file: its layout, the cases that parsed, and the records that were skipped with the reason.
 *
 * @param records number of records in the file, skipped ones included
 */
public record Dataset(Path file, Layout layout, List<EvalCase> cases, List<Skipped> skipped, int records) {
    /** A record left out because it was malformed. */
    public record Skipped(int index, String reason) {
        @Override
        public String toString() {
            return "record " + index + ": " + reason;
        }
    }

    public Dataset {
        cases = List.copyOf(cases);
        skipped = List.copyOf(skipped);
    }

    /** The cases from {@code offset} on, at most {@code limit} of them (null: all). */
    public List<EvalCase> select(int offset, Integer limit) {
        int from = Math.min(Math.max(offset, 0), cases.size());
        int to = limit == null ? cases.size() : Math.min(cases.size(), from + Math.max(limit, 0));
        return cases.subList(from, to);
    }
}
