package dev.icedit.edit.locate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.icedit.tensor.Backend;
import dev.icedit.tensor.IceditException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * AlphaEdit's projector on hand-made statistics: keys that span a subspace, so that the null space is known
 * exactly. P annihilates every preserved key, is a symmetric idempotent of the right rank, drops the directions of
 * added keys, and the two edge cases (nothing preserved, nothing free) behave as documented.
 */
class NullSpaceTest {
    static final int WIDTH = 24;

    /** Keys (n, I) = random combinations of the first {@code rank} axes, rotated by a fixed random orthogonal map. */
    static NDArray keysInSubspace(NDManager m, int n, int rank, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] coeffs = new double[n * rank];
        for (int i = 0; i < coeffs.length; i++) {
            coeffs[i] = r.nextGaussian();
        }
        NDArray rotation = orthogonal(m, 99);
        return m.create(coeffs, new Shape(n, rank)).matMul(rotation.get("0:" + rank + ", :")); // (n, I)
    }

    static NDArray orthogonal(NDManager m, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] a = new double[WIDTH * WIDTH];
        for (int i = 0; i < a.length; i++) {
            a[i] = r.nextGaussian();
        }
        // Gram-Schmidt on the host: an independent orthonormal basis, rows
        double[][] q = new double[WIDTH][WIDTH];
        for (int i = 0; i < WIDTH; i++) {
            double[] v = new double[WIDTH];
            System.arraycopy(a, i * WIDTH, v, 0, WIDTH);
            for (int j = 0; j < i; j++) {
                double dot = 0;
                for (int k = 0; k < WIDTH; k++) {
                    dot += v[k] * q[j][k];
                }
                for (int k = 0; k < WIDTH; k++) {
                    v[k] -= dot * q[j][k];
                }
            }
            double norm = 0;
            for (double x : v) {
                norm += x * x;
            }
            for (int k = 0; k < WIDTH; k++) {
                q[i][k] = v[k] / Math.sqrt(norm);
            }
        }
        double[] flat = new double[WIDTH * WIDTH];
        for (int i = 0; i < WIDTH; i++) {
            System.arraycopy(q[i], 0, flat, i * WIDTH, WIDTH);
        }
        return m.create(flat, new Shape(WIDTH, WIDTH));
    }

    static NDArray moment(NDArray keys) {
        return keys.transpose().matMul(keys).div(keys.getShape().get(0)); // (I, I) = E[k k^T]
    }

    @Test
    void theProjectorAnnihilatesThePreservedKeys() {
        try (NDManager m = Backend.newManager(Backend.defaultDevice())) {
            NDArray preserved = keysInSubspace(m, 200, 15, 1); // span of dimension 15 of 24
            try (NullSpace.Projector p = NullSpace.of(moment(preserved), 1e-8)) {
                assertThat(p.dimension()).isEqualTo(WIDTH - 15);
                assertThat(p.width()).isEqualTo(WIDTH);
                NDArray mat = p.matrix();
                assertThat(mat.getDataType()).isEqualTo(DataType.FLOAT64);
                // a symmetric idempotent of rank 9
                assertThat(mat.sub(mat.transpose()).abs().max().getDouble()).isLessThan(1e-12);
                assertThat(mat.matMul(mat).sub(mat).abs().max().getDouble()).isLessThan(1e-10);
                assertThat(mat.mul(m.eye(WIDTH).toType(DataType.FLOAT64, false)).sum().getDouble()).isCloseTo(WIDTH - 15, org.assertj.core.data.Offset.offset(1e-9));
                // any dW P sends every preserved key to zero: |dW P k| <= 1e-5 |dW P| |k|
                NDArray dw = m.randomNormal(new Shape(8, WIDTH)).toType(DataType.FLOAT64, false).matMul(mat); // (C, I)
                NDArray out = dw.matMul(preserved.transpose()); // (C, n)
                double worst = 0;
                for (int j = 0; j < preserved.getShape().get(0); j++) {
                    double ratio = out.get(":, " + j).norm().getDouble()
                            / (dw.norm().getDouble() * preserved.get(j).norm().getDouble());
                    worst = Math.max(worst, ratio);
                }
                System.out.printf("NullSpaceTest: largest |dW P k| / (|dW P| |k|) over 200 preserved keys: %.2e%n", worst);
                assertThat(worst).isLessThan(1e-5);
                // and keeps what lies in the null space
                NDArray free = m.create(new double[WIDTH]).add(orthogonal(m, 99).get(20)); // axis 20 is not spanned
                assertThat(mat.matMul(free).sub(free).norm().getDouble()).isLessThan(1e-10);
            }
        }
    }

    @Test
    void addedKeysLeaveTheNullSpaceToo() {
        try (NDManager m = Backend.newManager(Backend.defaultDevice())) {
            NDArray preserved = keysInSubspace(m, 200, 15, 1);
            NDArray edited = keysInSubspace(m, 3, 20, 2); // three keys of earlier edits, outside the span
            NDArray gram = edited.transpose().matMul(edited); // (I, I), unnormalised
            try (NullSpace.Projector all = NullSpace.of(moment(preserved), 1e-8);
                    NullSpace.Projector p = all.without(gram)) {
                assertThat(p.dimension()).isEqualTo(WIDTH - 15 - 3);
                assertThat(p.matrix().matMul(edited.transpose()).norm().getDouble()
                        / edited.norm().getDouble()).isLessThan(1e-10);
                assertThat(p.matrix().matMul(preserved.transpose()).norm().getDouble()
                        / preserved.norm().getDouble()).isLessThan(1e-10);
            }
        }
    }

    @Test
    void aThresholdAboveEveryEigenvalueFreesEveryDirectionAndOneBelowAllIsRefused() {
        try (NDManager m = Backend.newManager(Backend.defaultDevice())) {
            NDArray c = moment(keysInSubspace(m, 200, WIDTH, 3)); // full rank
            try (NullSpace.Projector p = NullSpace.of(c, 1e6)) {
                assertThat(p.isIdentity()).isTrue();
                assertThat(p.matrix().sub(m.eye(WIDTH).toType(DataType.FLOAT64, false)).abs().max().getDouble())
                        .isLessThan(1e-12);
            }
            assertThatThrownBy(() -> NullSpace.of(c, 1e-12)).isInstanceOf(IceditException.class)
                    .hasMessageContaining("null space is empty").hasMessageContaining("raise nullspace_threshold");
        }
    }
}
