package dev.icedit.edit.locate;

import dev.icedit.model.Tokenizer;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The samples of the statistics: windows of consecutive tokens of the corpus (a BOS first when the tokenizer adds
 * one), in a fixed order. So that a sample smaller than the corpus still spreads over all of it, windows are taken
 * with a stride s (about the corpus's window count over the samples wanted): pass r takes the windows whose
 * running number is r modulo s, and passes continue until enough windows are taken or the corpus is used up. The
 * order depends only on the corpus, the tokenizer and the numbers, so a computation can stop and resume by
 * skipping the windows it has done.
 */
final class CorpusWindows implements AutoCloseable {
    /** A document's last window is used only if it has at least this many tokens. */
    static final int MIN_TOKENS = 8;

    private final TextCorpus corpus;
    private final Tokenizer tok;
    private final int windowTokens;
    private final Long bos;
    private final long stride;
    private final Deque<long[]> ready = new ArrayDeque<>();
    private long pass;
    private int doc = -1;
    private TextCorpus.Pieces pieces;
    private long running;
    private boolean exhausted;

    /** @param windowTokens the length of a window, BOS included */
    CorpusWindows(TextCorpus corpus, Tokenizer tok, int windowTokens, long wanted) {
        this.corpus = corpus;
        this.tok = tok;
        this.windowTokens = windowTokens;
        long[] probe = tok.encode("a");
        this.bos = tok.bosTokenId() != null && probe.length > 0 && probe[0] == tok.bosTokenId() ? tok.bosTokenId() : null;
        this.stride = Math.max(1, estimatedWindows() / wanted);
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
            cut(tok.encodePlain(piece));
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

    private void cut(long[] ids) {
        int body = windowTokens - (bos == null ? 0 : 1);
        for (int at = 0; at < ids.length; at += body) {
            int end = Math.min(ids.length, at + body);
            if (end - at < MIN_TOKENS) {
                break;
            }
            if (running++ % stride != pass) {
                continue;
            }
            long[] w = new long[end - at + (bos == null ? 0 : 1)];
            int o = 0;
            if (bos != null) {
                w[o++] = bos;
            }
            System.arraycopy(ids, at, w, o, end - at);
            ready.add(w);
        }
    }

    /** Windows in the corpus, estimated from its size and the tokens per character of its first piece. */
    private long estimatedWindows() {
        try (TextCorpus.Pieces first = new TextCorpus.Pieces(corpus.documents().get(0))) {
            String piece = first.next();
            if (piece == null || piece.isEmpty()) {
                return 1;
            }
            double tokensPerChar = (double) tok.encodePlain(piece).length / piece.length();
            return (long) (corpus.totalBytes() * tokensPerChar / windowTokens);
        }
    }

    @Override
    public void close() {
        if (pieces != null) {
            pieces.close();
        }
    }
}
