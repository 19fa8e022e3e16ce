package dev.icedit.edit.tuning;

import ai.djl.ndarray.NDArray;

/** Adam as torch.optim.Adam computes it (betas 0.9/0.999, eps 1e-8, L2 weight decay added to the gradient). */
public final class Adam implements AutoCloseable {
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPS = 1e-8;

    private final double lr;
    private final double weightDecay;
    private NDArray m;
    private NDArray v;
    private int t;

    public Adam(double lr, double weightDecay) {
        this.lr = lr;
        this.weightDecay = weightDecay;
    }

    /** The parameter after one step, as a new array. The moments are updated in place (no gradients here). */
    public NDArray step(NDArray param, NDArray grad) {
        t++;
        NDArray g = weightDecay == 0 ? grad : grad.add(param.mul(weightDecay));
        if (m == null) {
            m = param.zerosLike();
            v = param.zerosLike();
            ai.djl.ndarray.NDScope.unregister(m, v);
        }
        m.muli(BETA1).addi(g.mul(1 - BETA1)); // m = b1 m + (1 - b1) g
        v.muli(BETA2).addi(g.square().muli(1 - BETA2)); // v = b2 v + (1 - b2) g^2
        double bias1 = 1 - Math.pow(BETA1, t);
        double bias2 = 1 - Math.pow(BETA2, t);
        // param - lr * (m / bias1) / (sqrt(v / bias2) + eps), in the order torch evaluates it
        NDArray denom = v.sqrt().divi(Math.sqrt(bias2)).addi(EPS);
        return param.sub(m.div(denom).muli(lr / bias1));
    }

    @Override
    public void close() {
        if (m != null) {
            m.close();
            v.close();
        }
    }
}
