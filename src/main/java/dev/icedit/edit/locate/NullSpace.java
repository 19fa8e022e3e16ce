package dev.icedit.edit.locate;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.icedit.tensor.DType;
import dev.icedit.tensor.HostArrays;
import dev.icedit.tensor.IceditException;
import dev.icedit.tensor.SafetensorsFile;
import dev.icedit.tensor.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * AlphaEdit's null-space projector (Fang et al., ICLR 2025, arXiv 2410.02355): for the second moment C = E[k k^T]
 * (I, I) of a layer's keys, P = U_0 U_0^T where U_0 holds the eigenvectors of C whose eigenvalues are below
 * {@code nullspace_threshold}. An update dW (C, I) of the MLP output projection turned into dW P leaves the output
 * at every key in the span of the other eigenvectors (the preserved keys) unchanged: (dW P) k = 0.
 *
 * <p>The released code (jianghoucheng/AlphaEdit, {@code get_project}) takes the SVD of C and keeps the singular
 * vectors with singular values below the threshold; C is symmetric positive semi-definite, so these are its
 * eigenvectors and eigenvalues, which this class computes with EJML's symmetric eigendecomposition (DJL has none).
 * The threshold is absolute, as there: it depends on the scale of the model's keys.
 *
 * <p>Keys of earlier edits can be added to the preserved set ({@link Projector#without}): with G = Σ k k^T over
 * them (AlphaEdit's {@code cache_c}), P G P = (P K_p)(P K_p)^T, and removing its eigenvectors of non-zero eigenvalue
 * from P leaves the projector onto the part of the null space orthogonal to every such key.
 *
 * <p>Shapes: I key width, d the null space's dimension.
 */
public final class NullSpace {
    private static final Logger LOG = LoggerFactory.getLogger(NullSpace.class);
    public static final String FORMAT = "icedit-nullspace/1";

    private NullSpace() {}

    /**
     * A projector P (I, I) float64 onto a null space of dimension {@code dimension}, owned by this record;
     * {@code smallest} and {@code largest} are the extreme eigenvalues of the matrix it came from.
     */
    public record Projector(NDArray matrix, int dimension, int width, double threshold, double smallest,
            double largest) implements AutoCloseable {
        /** Every direction is free: P = I, the projection changes nothing. */
        public boolean isIdentity() {
            return dimension == width;
        }

        /**
         * The projector onto the part of this null space orthogonal to the keys whose Σ k k^T is {@code gram}: P minus
         * the eigenvectors of P G P whose eigenvalues are above 1e-9 of its largest (its numerical rank). A new
         * projector (this one stays open); fails when nothing is left.
         */
        public Projector without(NDArray gram) {
            NDArray pgp;
            try (NDScope scope = new NDScope()) {
                pgp = matrix.matMul(gram.toType(DataType.FLOAT64, false)).matMul(matrix); // (I, I)
                NDScope.unregister(pgp);
            }
            Eigen e;
            try {
                e = decompose(pgp);
            } finally {
                pgp.close();
            }
            double top = Arrays.stream(e.values()).max().orElse(0);
            int removed = top > 0 ? (int) Arrays.stream(e.values()).filter(v -> v > 1e-9 * top).count() : 0;
            if (removed >= dimension) {
                throw new IceditException("the keys of earlier edits fill the null space (" + dimension
                        + " dimensions): a further edit could change nothing; raise nullspace_threshold or preserve"
                        + " fewer keys (null_space_edited_keys: false)");
            }
            NDArray reduced;
            try (NDScope scope = new NDScope()) {
                NDArray v = columns(matrix.getManager(), e, width, x -> x > 1e-9 * top).toDevice(matrix.getDevice(),
                        false); // (I, removed)
                reduced = matrix.sub(v.matMul(v.transpose()));
                NDScope.unregister(reduced);
            }
            return new Projector(reduced, dimension - removed, width, threshold, smallest, largest);
        }

        /** Facts worth reporting beside an edit's hyper-parameters. */
        public Map<String, Object> summary() {
            return Map.of("null_space_dim", dimension, "key_dim", width, "nullspace_threshold", threshold,
                    "eigenvalue_range", List.of(smallest, largest));
        }

        @Override
        public void close() {
            matrix.close();
        }
    }

    /**
     * The projector onto the eigenvectors of {@code moment} whose eigenvalues are below {@code threshold}. Fails
     * when there are none: an update projected onto nothing could change nothing.
     */
    public static Projector of(NDArray moment, double threshold) {
        int n = (int) moment.getShape().get(0);
        Eigen e = decompose(moment);
        double smallest = Arrays.stream(e.values()).min().orElse(0);
        double largest = Arrays.stream(e.values()).max().orElse(0);
        int d = (int) Arrays.stream(e.values()).filter(v -> v < threshold).count();
        if (d == 0) {
            throw new IceditException(String.format(Locale.ROOT, "no eigenvalue of the key statistics is below"
                    + " nullspace_threshold %g (they range from %.3g to %.3g): the null space is empty, so the edit"
                    + " could change nothing; raise nullspace_threshold", threshold, smallest, largest));
        }
        NDArray p;
        try (NDScope scope = new NDScope()) {
            NDArray u = columns(moment.getManager(), e, n, v -> v < threshold).toDevice(moment.getDevice(), false); // (I, d)
            p = u.matMul(u.transpose()); // (I, I)
            NDScope.unregister(p);
        }
        return new Projector(p, d, n, threshold, smallest, largest);
    }

    /** Eigenvalues and eigenvectors (unit columns, row-major (I, I) on the host) of a symmetric matrix. */
    private record Eigen(double[] values, double[] vectors) {}

    private static Eigen decompose(NDArray symmetric) {
        int n = (int) symmetric.getShape().get(0);
        double[] a;
        try (NDScope scope = new NDScope()) {
            NDArray m = symmetric.toType(DataType.FLOAT64, false);
            m = m.add(m.transpose()).div(2); // exactly symmetric, as the decomposition assumes
            a = m.toDevice(Device.cpu(), false).toDoubleArray();
        }
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, true, true);
        if (!eig.decompose(new DMatrixRMaj(n, n, true, a))) {
            throw new IceditException("the eigendecomposition of the key statistics did not converge");
        }
        double[] values = new double[n];
        double[] vectors = new double[n * n];
        for (int i = 0; i < n; i++) {
            values[i] = eig.getEigenvalue(i).getReal();
            DMatrixRMaj v = eig.getEigenVector(i);
            double norm = 0;
            for (int r = 0; r < n; r++) {
                norm += v.get(r, 0) * v.get(r, 0);
            }
            norm = Math.sqrt(norm);
            for (int r = 0; r < n; r++) {
                vectors[r * n + i] = v.get(r, 0) / norm;
            }
        }
        return new Eigen(values, vectors);
    }

    /** The eigenvectors whose eigenvalue passes {@code keep}, as the columns of an (I, k) float64 array. */
    private static NDArray columns(NDManager manager, Eigen e, int n, java.util.function.DoublePredicate keep) {
        int k = (int) Arrays.stream(e.values()).filter(keep).count();
        double[] out = new double[n * k];
        int col = 0;
        for (int i = 0; i < n; i++) {
            if (keep.test(e.values()[i])) {
                for (int r = 0; r < n; r++) {
                    out[r * k + col] = e.vectors()[r * n + i];
                }
                col++;
            }
        }
        return HostArrays.of(manager, out, new Shape(n, k));
    }

    /**
     * The projector of a layer's cached statistics, itself cached beside them
     * ({@code ....nullspace-THRESHOLD.safetensors}, tensor "P" (I, I) F64): the decomposition takes seconds at
     * I = 1024 and minutes at the widths of billion-parameter models, and depends only on C and the threshold.
     */
    public static Projector of(SecondMoments.Stats stats, double threshold) {
        Path file = cacheFile(stats.file(), threshold);
        if (Files.exists(file)) {
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                Map<String, String> meta = f.metadata();
                SafetensorsFile.Entry e = f.entry("P");
                long width = stats.moment().getShape().get(0);
                if (FORMAT.equals(meta.get("format")) && e != null && e.dtype() == DType.F64
                        && e.shape().length == 2 && e.shape()[0] == width && e.shape()[1] == width) {
                    NDArray p;
                    try (NDScope scope = new NDScope()) {
                        p = stats.moment().getManager().create(f.map(e), new Shape(e.shape()), DataType.FLOAT64)
                                .duplicate().toDevice(stats.moment().getDevice(), false);
                        NDScope.unregister(p);
                    }
                    return new Projector(p, Integer.parseInt(meta.get("dimension")), (int) width, threshold,
                            Double.parseDouble(meta.get("smallest")), Double.parseDouble(meta.get("largest")));
                }
                LOG.warn("{} is not a null-space projector of these statistics; recomputing it", file);
            } catch (RuntimeException e) {
                LOG.warn("cannot read {} ({}); recomputing it", file, e.getMessage());
            }
        }
        long t0 = System.nanoTime();
        Projector p = of(stats.moment(), threshold);
        LOG.info("layer {}: null space of dimension {} of {} below nullspace_threshold {} ({} s)", stats.layer(),
                p.dimension(), p.width(), threshold, Math.round((System.nanoTime() - t0) / 1e8) / 10.0);
        try {
            write(file, p);
        } catch (IOException e) {
            LOG.warn("cannot cache the null-space projector in {}: {}", file, e.getMessage());
        }
        return p;
    }

    static Path cacheFile(Path statsFile, double threshold) {
        String name = statsFile.getFileName().toString().replaceAll("\\.safetensors$", "");
        return statsFile.resolveSibling(name + ".nullspace-" + Double.toString(threshold) + ".safetensors");
    }

    private static void write(Path file, Projector p) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp-" + System.nanoTime());
        try {
            SafetensorsWriter.write(tmp, List.of(new SafetensorsWriter.Tensor("P", DType.F64,
                    p.matrix().getShape().getShape(), () -> p.matrix().toDevice(Device.cpu(), false).toByteBuffer())),
                    Map.of("format", FORMAT, "dimension", String.valueOf(p.dimension()),
                            "threshold", String.valueOf(p.threshold()), "smallest", String.valueOf(p.smallest()),
                            "largest", String.valueOf(p.largest())));
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
