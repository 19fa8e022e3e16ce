package dev.icedit.edit.locate;

import dev.icedit.model.tokenizer.Tokenizer;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The samples of the statistics: windows of up to a given number of tokens (a BOS first when the tokenizer adds
 * one), each the start of a chunk of the corpus's text, in a fixed order. Documents are cut into chunks of about
 * the characters a window holds (cut at a space, with some to spare); so that a sample smaller than the corpus
 * still spreads over all of it, chunks are taken with a stride s (the corpus's chunks over the samples wanted):
 * pass r takes the chunks whose running number is r modulo s, and passes continue until enough are taken or the
 * corpus is used up. Only the chunks taken are tokenised. The order depends only on the corpus, the tokenizer and
 * the numbers, so a computation can stop and resume by skipping the windows it has done.
 */
final class CorpusWindows implements AutoCloseable {
    /** A window is used only if it has at least this many tokens. */
    static final int MIN_TOKENS = 8;
    /** Characters tokenised to estimate the characters per token. */
    static final int PROBE_CHARS = 1 << 16;
    /** Chunks hold this much more text than a window needs on average, so that most windows are full. */
    static final double SLACK = 1.25;

    private final TextCorpus corpus;
    private final Tokenizer tok;
    private final int body;
    private final Long bos;
    private final int chunkChars;
    private final long stride;
    private final Deque<long[]> ready = new ArrayDeque<>();
    private long pass;
    private int doc = -1;
    private TextCorpus.Pieces pieces;
    private long running;
    private boolean exhausted;

    /** @param windowTokens the longest window, BOS included */
    CorpusWindows(TextCorpus corpus, Tokenizer tok, int windowTokens, long wanted) {
        this.corpus = corpus;
        this.tok = tok;
        long[] probe = tok.encode("a");
        this.bos = tok.bosTokenId() != null && probe.length > 0 && probe[0] == tok.bosTokenId() ? tok.bosTokenId() : null;
        this.body = windowTokens - (bos == null ? 0 : 1);
        this.chunkChars = (int) Math.ceil(body * charsPerToken() * SLACK);
        this.stride = Math.max(1, corpus.totalBytes() / chunkChars / wanted);
    }

    /** The stride chosen for the samples wanted. */
    long stride() {
        return stride;
    }

    /** The next window, or null when every pass is done. */
    long[] next() {
        while (ready.isEmpty()) {
            if (exhausted) {
                return null;
            }
            String piece = pieces == null ? null : pieces.next();
            if (piece == null) {
                advanceDocument();
                continue;
            }
            cut(piece);
        }
        return ready.poll();
    }

    private void advanceDocument() {
        if (pieces != null) {
            pieces.close();
            pieces = null;
        }
        doc++;
        if (doc == corpus.documents().size()) {
            doc = 0;
            pass++;
            running = 0;
            if (pass == stride) {
                exhausted = true;
                return;
            }
        }
        pieces = new TextCorpus.Pieces(corpus.documents().get(doc));
    }

    private void cut(String piece) {
        int at = 0;
        while (at < piece.length()) {
            int end = Math.min(piece.length(), at + chunkChars);
            while (end < piece.length() && !Character.isWhitespace(piece.charAt(end))) {
                end++;
            }
            if (running++ % stride == pass) {
                long[] ids = tok.encodeText(piece.substring(at, end));
                int n = Math.min(ids.length, body);
                if (n >= MIN_TOKENS) {
                    long[] w = new long[n + (bos == null ? 0 : 1)];
                    if (bos != null) {
                        w[0] = bos;
                    }
                    System.arraycopy(ids, 0, w, bos == null ? 0 : 1, n);
                    ready.add(w);
                }
            }
            at = end;
        }
    }

    /** Characters per token of the first document's beginning. */
    private double charsPerToken() {
        try (TextCorpus.Pieces first = new TextCorpus.Pieces(corpus.documents().get(0))) {
            String piece = first.next();
            if (piece == null || piece.isBlank()) {
                return 4;
            }
            String probe = piece.substring(0, Math.min(piece.length(), PROBE_CHARS));
            long[] ids = tok.encodeText(probe);
            return ids.length == 0 ? 4 : (double) probe.length() / ids.length;
        }
    }

    @Override
    public void close() {
        if (pieces != null) {
            pieces.close();
        }
    }

    @Override
    public String toString() {
        return "chunks of " + chunkChars + " characters, stride " + stride + ", windows of " + body + " tokens"
                + (bos == null ? "" : " after BOS");
    }
}
