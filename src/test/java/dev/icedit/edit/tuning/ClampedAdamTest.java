package dev.icedit.edit.tuning;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.icedit.tensor.Backend;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The fused Adam-and-clamp step gives exactly (bit for bit) what libtorch gives for {@link Adam#step} followed by
 * the clamp, over steps where the clamp binds for some elements and not others, with and without weight decay.
 */
class ClampedAdamTest {
    @ParameterizedTest(name = "lr {0}, weight decay {1}, eps {2}")
    @CsvSource({"2e-3, 0, 2e-3", "7e-4, 0, 5e-4", "1e-2, 0.01, 3e-3", "0.5, 0, 1e-6"})
    void fusedStepIsBitIdenticalToLibtorchOperations(double lr, double weightDecay, double eps) {
        try (NDManager m = Backend.newManager(Device.cpu())) {
            SplittableRandom random = new SplittableRandom(7);
            int rows = 37;
            int cols = 1111; // not a multiple of the block size
            NDArray origin = array(m, random, rows, cols, 0.05);
            NDArray reference = origin.duplicate();
            NDArray fusedTheta = origin.duplicate();
            NDArray lo = origin.sub(eps);
            NDArray hi = origin.add(eps);
            int differing = 0;
            int clamped = 0;
            try (Adam adam = new Adam(lr, weightDecay);
                    ClampedAdam fused = new ClampedAdam(origin, lr, weightDecay, eps)) {
                for (int step = 0; step < 6; step++) {
                    NDArray grad = array(m, random, rows, cols, step == 3 ? 1e-6 : 1.0);
                    NDArray updated = adam.step(reference, grad.duplicate());
                    NDArray next = NDArrays.minimum(NDArrays.maximum(updated, lo), hi);
                    fused.step(fusedTheta, grad);
                    float[] a = next.toFloatArray();
                    float[] b = fusedTheta.toFloatArray();
                    float[] up = updated.toFloatArray();
                    for (int i = 0; i < a.length; i++) {
                        differing += Float.floatToRawIntBits(a[i]) == Float.floatToRawIntBits(b[i]) ? 0 : 1;
                        clamped += a[i] != up[i] ? 1 : 0;
                    }
                    reference = next;
                }
            }
            System.out.printf("ClampedAdamTest: %d of %d values differ from libtorch's; the clamp bound %d times%n",
                    differing, 6 * rows * cols, clamped);
            assertThat(differing).isZero();
            assertThat(clamped).isPositive(); // the case exercises the clamp
        }
    }

    private static NDArray array(NDManager m, SplittableRandom random, int rows, int cols, double scale) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (random.nextGaussian() * scale);
        }
        return m.create(v, new Shape(rows, cols)).duplicate();
    }
}
