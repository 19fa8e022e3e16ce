package dev.icedit.model.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import dev.icedit.model.Hooks;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.TokenBatch;
import dev.icedit.model.Weights;
import dev.icedit.tensor.IceditException;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/** The model's distribution over the token that follows a prompt. Shapes: T prompt length, C width, V vocabulary. */
public final class NextTokens {
    private NextTokens() {}

    /** A candidate next token and its probability. */
    public record Candidate(long id, double probability) {}

    /** The {@code k} most probable next tokens after {@code prompt}, most probable first, under the current weights. */
    public static List<Candidate> top(LanguageModel model, long[] prompt, int k) {
        if (prompt.length == 0) {
            throw new IceditException("cannot predict the next token of an empty prompt");
        }
        if (k < 1) {
            throw new IceditException("k must be >= 1, got " + k);
        }
        float[] probs;
        try (LanguageModel.Lease lease = model.lease(); NDScope scope = new NDScope()) {
            Weights w = lease.weights();
            NDArray hidden = model.hidden(w, TokenBatch.of(prompt), null, Hooks.NONE); // (1, T, C)
            NDArray last = hidden.get(":, -1:, :"); // (1, 1, C)
            NDArray p = model.logits(w, last).toType(DataType.FLOAT32, false).softmax(-1); // (1, 1, V)
            probs = p.toFloatArray();
        }
        // a bounded min-heap keeps this O(V log k) without sorting the whole vocabulary
        PriorityQueue<Integer> heap = new PriorityQueue<>((a, b) -> Float.compare(probs[a], probs[b]));
        for (int i = 0; i < probs.length; i++) {
            if (heap.size() < k) {
                heap.add(i);
            } else if (probs[i] > probs[heap.peek()]) {
                heap.poll();
                heap.add(i);
            }
        }
        List<Candidate> out = new ArrayList<>();
        while (!heap.isEmpty()) {
            int i = heap.poll();
            out.add(0, new Candidate(i, probs[i]));
        }
        return out;
    }
}
