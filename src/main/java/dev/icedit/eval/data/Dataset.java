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

    /** The same file with only the cases whose record index is in {@code indices}. */
    public Dataset only(java.util.Collection<Integer> indices) {
        java.util.Set<Integer> keep = java.util.Set.copyOf(indices);
        return new Dataset(file, layout, cases.stream().filter(c -> keep.contains(c.index())).toList(), skipped, records);
    }

    /** The same file without the cases whose record index is in {@code indices}. */
    public Dataset without(java.util.Collection<Integer> indices) {
        java.util.Set<Integer> drop = java.util.Set.copyOf(indices);
        return new Dataset(file, layout, cases.stream().filter(c -> !drop.contains(c.index())).toList(), skipped,
                records);
    }

    /** SHA-256 of the file's bytes: identifies the data whatever its path. */
    public String sha256() {
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0;) {
                md.update(buf, 0, n);
            }
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (java.io.IOException e) {
            throw dev.icedit.tensor.IceditException.inFile(file, "cannot read: " + e.getMessage());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The cases from {@code offset} on, at most {@code limit} of them (null: all). */
    public List<EvalCase> select(int offset, Integer limit) {
        int from = Math.min(Math.max(offset, 0), cases.size());
        int to = limit == null ? cases.size() : Math.min(cases.size(), from + Math.max(limit, 0));
        return cases.subList(from, to);
    }
}
