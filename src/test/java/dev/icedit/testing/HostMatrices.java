package dev.icedit.testing;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * Linear algebra on the host with EJML, for tests that check the projector and updates independently of the
 * tensor code under test: eigendecompositions, projectors, and how much of an update reaches preserved keys.
 */
public final class HostMatrices {
    private HostMatrices() {}

    public static DMatrixRMaj host(NDArray a) {
        long[] s = a.getShape().getShape();
        return new DMatrixRMaj((int) s[0], (int) s[1], true, a.toType(DataType.FLOAT64, false).toDoubleArray());
    }

    public static NDArray device(NDManager m, DMatrixRMaj a) {
        return m.create(a.getData().clone(), new Shape(a.numRows, a.numCols));
    }

    public static DMatrixRMaj gaussian(int rows, int cols, SplittableRandom r) {
        DMatrixRMaj a = new DMatrixRMaj(rows, cols);
        for (int i = 0; i < a.data.length; i++) {
            a.data[i] = r.nextGaussian();
        }
        return a;
    }

    /** The eigenvalues (ascending) and eigenvectors (columns) of a symmetric host matrix. */
    public record Eigen(double[] values, DMatrixRMaj vectors) {}

    public static Eigen eigen(DMatrixRMaj c) {
        int n = c.numRows;
        EigenDecomposition_F64<DMatrixRMaj> e = DecompositionFactory_DDRM.eig(n, true, true);
        DMatrixRMaj sym = new DMatrixRMaj(n, n);
        CommonOps_DDRM.transpose(c, sym);
        CommonOps_DDRM.add(0.5, c, 0.5, sym, sym);
        assertThat(e.decompose(sym)).isTrue();
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(e.getEigenvalue(a).getReal(), e.getEigenvalue(b).getReal()));
        double[] values = new double[n];
        DMatrixRMaj vectors = new DMatrixRMaj(n, n);
        for (int j = 0; j < n; j++) {
            values[j] = e.getEigenvalue(order[j]).getReal();
            DMatrixRMaj v = e.getEigenVector(order[j]);
            double norm = CommonOps_DDRM.dot(v, v);
            for (int i = 0; i < n; i++) {
                vectors.set(i, j, v.get(i, 0) / Math.sqrt(norm));
            }
        }
        return new Eigen(values, vectors);
    }

    /** The projector onto the eigenvectors with eigenvalue below {@code threshold}, and the others (preserved). */
    public static DMatrixRMaj[] split(Eigen e, double threshold) {
        int n = e.values().length;
        int d = (int) Arrays.stream(e.values()).filter(v -> v < threshold).count();
        DMatrixRMaj free = CommonOps_DDRM.extract(e.vectors(), 0, n, 0, d);
        DMatrixRMaj preserved = CommonOps_DDRM.extract(e.vectors(), 0, n, d, n);
        DMatrixRMaj p = new DMatrixRMaj(n, n);
        CommonOps_DDRM.multTransB(free, free, p);
        return new DMatrixRMaj[] {p, preserved};
    }

    public static double relative(DMatrixRMaj a, DMatrixRMaj b) {
        DMatrixRMaj d = new DMatrixRMaj(a.numRows, a.numCols);
        CommonOps_DDRM.subtract(a, b, d);
        return CommonOps_DDRM.elementMaxAbs(d) / CommonOps_DDRM.elementMaxAbs(b);
    }

    /** max over preserved directions u of |dW u| / (|dW| |u|), the u being unit columns. */
    public static double leak(DMatrixRMaj dw, DMatrixRMaj preserved) {
        DMatrixRMaj out = new DMatrixRMaj(dw.numRows, preserved.numCols);
        CommonOps_DDRM.mult(dw, preserved, out);
        double norm = org.ejml.dense.row.NormOps_DDRM.normF(dw);
        double worst = 0;
        for (int j = 0; j < out.numCols; j++) {
            double s = 0;
            for (int i = 0; i < out.numRows; i++) {
                s += out.get(i, j) * out.get(i, j);
            }
            worst = Math.max(worst, Math.sqrt(s) / norm);
        }
        return worst;
    }

}
