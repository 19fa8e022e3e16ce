package dev.icedit.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Records the operations of this thread for one backward pass: DJL's {@code PtGradientCollector} without its
 * process-wide guard of one collector at a time. libtorch keeps its grad mode per thread, so workers on several
 * threads (each with its own model, {@code icedit eval --jobs}) may each record and differentiate their own graph.
 * Open it around the forward pass whose loss {@link #backward} differentiates; closing it restores the thread's grad
 * mode.
 */
public final class GradientTape implements AutoCloseable {
    private final boolean wasRecording;

    public GradientTape() {
        Backend.engine();
        wasRecording = JniUtils.isGradMode();
        JniUtils.setGradMode(true);
    }

    /** Accumulates d target / d leaf into the gradient of every leaf that requires one (target: any shape). */
    public void backward(NDArray target) {
        try (NDArray ones = target.getManager().ones(target.getShape(), target.getDataType())) {
            JniUtils.backward((PtNDArray) target, (PtNDArray) ones, false, false);
        }
    }

    @Override
    public void close() {
        if (!wasRecording) {
            JniUtils.setGradMode(false);
        }
    }
}
