package dev.icedit.edit.tuning;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import dev.icedit.tensor.HostArrays;
import java.nio.FloatBuffer;

/**
 * {@link Adam}'s step followed by the clamp to [theta_0 - eps, theta_0 + eps], computed in two passes over host
 * memory instead of the dozen libtorch passes the two take as separate operations. The edited matrices (2 MB each on
 * the default model) are evicted between steps by the model's weights, so each of those passes streams them from
 * main memory again; two passes in blocks that stay in cache, with libtorch's square root between them, move about a
 * third of the bytes.
 *
 * <p>Every operation is the one {@link Adam#step} and the clamp perform, in the same order, each rounded to float32
 * as libtorch rounds it (scalars converted to float first, no fused multiply-adds), and the square root is
 * libtorch's own (MKL's vector square root is not always the correctly rounded one Java computes), so the result is
 * bit-identical ({@code ClampedAdamTest} checks it against the libtorch composition).
 */
final class ClampedAdam implements AutoCloseable {
    private static final int BLOCK = 4096;
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPS = 1e-8;

    private final double lr;
    private final double weightDecay;
    private final NDArray m;
    private final NDArray v;
    private final NDArray lo;
    private final NDArray hi;
    private int t;

    /** @param origin theta_0, float32 on the CPU; eps the clamp's half-width */
    ClampedAdam(NDArray origin, double lr, double weightDecay, double eps) {
        this.lr = lr;
        this.weightDecay = weightDecay;
        this.m = origin.zerosLike();
        this.v = origin.zerosLike();
        this.lo = origin.sub(eps); // the bounds libtorch computes, so they round as the unfused clamp's do
        this.hi = origin.add(eps);
        NDScope.unregister(m, v, lo, hi);
    }

    /** Whether the fused step can run on this array: float32 in CPU memory; otherwise use {@link Adam}. */
    static boolean applies(NDArray theta) {
        return theta.getDataType() == ai.djl.ndarray.types.DataType.FLOAT32
                && theta.getDevice().equals(ai.djl.Device.cpu());
    }

    /** Applies one step to {@code theta} in place (its memory, through any view); {@code grad} is only read. */
    void step(NDArray theta, NDArray grad) {
        t++;
        float b1 = (float) BETA1;
        float b2 = (float) BETA2;
        float oneMinusB1 = (float) (1 - BETA1);
        float oneMinusB2 = (float) (1 - BETA2);
        float sqrtBias2 = (float) Math.sqrt(1 - Math.pow(BETA2, t));
        float eps = (float) EPS;
        float stepSize = (float) (lr / (1 - Math.pow(BETA1, t)));
        float decay = (float) weightDecay;
        boolean decays = weightDecay != 0;
        FloatBuffer p = HostArrays.aliasFloats(theta);
        FloatBuffer g = HostArrays.aliasFloats(grad);
        FloatBuffer mb = HostArrays.aliasFloats(m);
        FloatBuffer vb = HostArrays.aliasFloats(v);
        int n = p.capacity();
        float[] pa = new float[BLOCK];
        float[] ga = new float[BLOCK];
        float[] ma = new float[BLOCK];
        float[] va = new float[BLOCK];
        for (int at = 0; at < n; at += BLOCK) { // the moments
            int len = Math.min(BLOCK, n - at);
            g.get(at, ga, 0, len);
            mb.get(at, ma, 0, len);
            vb.get(at, va, 0, len);
            if (decays) {
                p.get(at, pa, 0, len);
            }
            for (int i = 0; i < len; i++) {
                float gi = decays ? ga[i] + pa[i] * decay : ga[i];
                va[i] = va[i] * b2 + (gi * gi) * oneMinusB2;
                ma[i] = ma[i] * b1 + gi * oneMinusB1;
            }
            mb.put(at, ma, 0, len);
            vb.put(at, va, 0, len);
        }
        // libtorch's sqrt (MKL's vector math) is not always the correctly rounded one Java computes: take its own
        try (NDArray root = v.sqrt()) {
            FloatBuffer rb = HostArrays.aliasFloats(root);
            FloatBuffer lob = HostArrays.aliasFloats(lo);
            FloatBuffer hib = HostArrays.aliasFloats(hi);
            float[] ra = va;
            float[] la = ga;
            float[] ha = new float[BLOCK];
            for (int at = 0; at < n; at += BLOCK) { // the parameter, clamped
                int len = Math.min(BLOCK, n - at);
                p.get(at, pa, 0, len);
                mb.get(at, ma, 0, len);
                rb.get(at, ra, 0, len);
                lob.get(at, la, 0, len);
                hib.get(at, ha, 0, len);
                for (int i = 0; i < len; i++) {
                    float denom = ra[i] / sqrtBias2 + eps;
                    float updated = pa[i] - (ma[i] / denom) * stepSize;
                    pa[i] = Math.min(Math.max(updated, la[i]), ha[i]);
                }
                p.put(at, pa, 0, len);
            }
        }
    }

    @Override
    public void close() {
        m.close();
        v.close();
        lo.close();
        hi.close();
    }
}
