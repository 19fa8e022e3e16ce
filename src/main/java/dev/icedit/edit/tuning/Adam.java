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

    /** The parameter after one step, as a new array; state arrays are kept, the caller closes the rest. */
    public NDArray step(NDArray param, NDArray grad) {
        t++;
        NDArray g = weightDecay == 0 ? grad : grad.add(param.mul(weightDecay));
        NDArray newM = m == null ? g.mul(1 - BETA1) : m.mul(BETA1).add(g.mul(1 - BETA1));
        NDArray newV = v == null ? g.square().mul(1 - BETA2) : v.mul(BETA2).add(g.square().mul(1 - BETA2));
        replaceState(newM, newV);
        double bias1 = 1 - Math.pow(BETA1, t);
        double bias2 = 1 - Math.pow(BETA2, t);
        // param - lr * (m / bias1) / (sqrt(v / bias2) + eps), in the order torch evaluates it
        NDArray denom = v.sqrt().div(Math.sqrt(bias2)).add(EPS);
        return param.sub(m.div(denom).mul(lr / bias1));
    }

    private void replaceState(NDArray newM, NDArray newV) {
        ai.djl.ndarray.NDScope.unregister(newM, newV);
        if (m != null) {
            m.close();
            v.close();
        }
        m = newM;
        v = newV;
    }

    @Override
    public void close() {
        if (m != null) {
            m.close();
            v.close();
        }
    }
}
