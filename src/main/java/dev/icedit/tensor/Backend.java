package dev.icedit.tensor;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import java.util.Locale;

/**
 * The tensor engine: DJL with its PyTorch engine, started offline from the native library on the class path
 * (no download at run time). The device is a setting: {@code cpu} (default), {@code gpu} or {@code gpu:N}, from
 * the system property {@code icedit.device} or the environment variable {@code ICEDIT_DEVICE}. The intra-op thread
 * count is process-global and fixed when the engine starts: {@code ai.djl.pytorch.num_threads}, else
 * {@code ICEDIT_THREADS}, else libtorch's default (the number of cores); {@link #threadsForWorkers} divides it among
 * concurrent workers.
 */
public final class Backend {
    private static volatile Engine engine;

    private Backend() {}

    /** Starts the engine once; later calls return it. */
    public static Engine engine() {
        Engine e = engine;
        if (e == null) {
            synchronized (Backend.class) {
                e = engine;
                if (e == null) {
                    // offline unless the user allows DJL to fetch a native build (the CUDA path, see docs)
                    setIfAbsent("ai.djl.offline", System.getenv("ICEDIT_ALLOW_DOWNLOAD") != null ? "false" : "true");
                    setIfAbsent("ai.djl.default_engine", "PyTorch");
                    setIfAbsent("ai.djl.pytorch.graph_optimizer", "false");
                    String threads = System.getenv("ICEDIT_THREADS");
                    if (threads != null && !threads.isBlank()) {
                        setIfAbsent("ai.djl.pytorch.num_threads", threads.trim());
                    }
                    setIfAbsent("ai.djl.pytorch.num_interop_threads", "1");
                    try {
                        e = Engine.getEngine("PyTorch");
                    } catch (RuntimeException ex) {
                        throw new IceditException("cannot start the PyTorch engine: " + ex.getMessage(), ex);
                    }
                    engine = e;
                }
            }
        }
        return e;
    }

    /** Whether the engine has started (its thread count is then fixed). */
    public static boolean started() {
        return engine != null;
    }

    /**
     * The intra-op threads the process would use: {@code ai.djl.pytorch.num_threads}, else {@code ICEDIT_THREADS},
     * else the available processors.
     */
    public static int configuredThreads() {
        String[] settings = {System.getProperty("ai.djl.pytorch.num_threads"), System.getenv("ICEDIT_THREADS")};
        for (String s : settings) {
            if (s != null && !s.isBlank()) {
                try {
                    return Math.max(1, Integer.parseInt(s.trim()));
                } catch (NumberFormatException e) {
                    throw new IceditException("bad thread count '" + s + "' (ICEDIT_THREADS must be a whole number"
                            + " >= 1)");
                }
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * Gives each of {@code workers} concurrent workers max(1, T / workers) intra-op threads, T being
     * {@link #configuredThreads}, by setting {@code ai.djl.pytorch.num_threads} before the engine starts. The count
     * is process-global, so once the engine has started nothing changes. Returns the count each worker gets: the one
     * set, or {@link #intraOpThreads} when the engine had already started.
     */
    public static synchronized int threadsForWorkers(int workers) {
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be >= 1, got " + workers);
        }
        if (started()) {
            return intraOpThreads();
        }
        int each = Math.max(1, configuredThreads() / workers);
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(each));
        return each;
    }

    /**
     * Gives the calling thread the per-thread state the thread that started the engine has: autograd off (DJL turns
     * it off on that thread only, and libtorch keeps it per thread). Call it first on a new thread that runs tensor
     * work beside others, such as an evaluation's workers.
     */
    public static void prepareThread() {
        engine();
        ai.djl.pytorch.jni.JniUtils.setGradMode(false);
    }

    /** The intra-op threads of the running engine (started if it was not). */
    public static int intraOpThreads() {
        engine();
        return ai.djl.pytorch.jni.JniUtils.getNumThreads();
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /** The device named by {@code icedit.device} / {@code ICEDIT_DEVICE}, or the CPU. */
    public static Device defaultDevice() {
        String spec = System.getProperty("icedit.device");
        if (spec == null) {
            spec = System.getenv("ICEDIT_DEVICE");
        }
        return parseDevice(spec == null ? "cpu" : spec);
    }

    public static Device parseDevice(String spec) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        if (s.equals("cpu")) {
            return Device.cpu();
        }
        if (s.equals("gpu") || s.equals("cuda")) {
            return checkGpu(Device.gpu());
        }
        if (s.startsWith("gpu:") || s.startsWith("cuda:")) {
            try {
                return checkGpu(Device.gpu(Integer.parseInt(s.substring(s.indexOf(':') + 1))));
            } catch (NumberFormatException e) {
                throw new IceditException("bad device '" + spec + "' (use cpu, gpu or gpu:N)");
            }
        }
        throw new IceditException("bad device '" + spec + "' (use cpu, gpu or gpu:N)");
    }

    /** A device as --device names it: "cpu", "gpu:0" (DJL's own toString gives "cpu()"). */
    public static String deviceName(Device d) {
        return d.isGpu() ? "gpu:" + d.getDeviceId() : d.getDeviceType();
    }

    private static Device checkGpu(Device d) {
        int count = engine().getGpuCount();
        if (d.getDeviceId() >= count) {
            throw new IceditException("device " + d + " requested but the engine sees " + count
                    + " GPU(s); the CPU build of PyTorch is on the class path unless you build with -Pcuda");
        }
        return d;
    }

    /** A new root manager on the given device; the caller closes it. */
    public static NDManager newManager(Device device) {
        return engine().newBaseManager(device);
    }

    /** Matrix-multiply throughput of this machine through the engine, for benchmarks (GFLOP/s). */
    public static double matmulGflops(int n, int repeats) {
        try (NDManager m = newManager(Device.cpu())) {
            var a = m.randomNormal(new ai.djl.ndarray.types.Shape(n, n));
            a.matMul(a).close();
            long t0 = System.nanoTime();
            for (int i = 0; i < repeats; i++) {
                a.matMul(a).close();
            }
            double s = (System.nanoTime() - t0) / 1e9;
            return repeats * 2.0 * n * n * (double) n / s / 1e9;
        }
    }
}
