package dev.icedit.eval.run;

import dev.icedit.eval.metrics.Bootstrap;
import dev.icedit.eval.metrics.Protocol;
import dev.icedit.tensor.IceditException;
import java.util.Locale;

/**
 * How to run an evaluation.
 *
 * @param method an editing method's name, or NONE or IN-CONTEXT
 * @param hparams hyper-parameter YAML file or preset name (null: the preset for the model)
 * @param limit how many cases (null: all from offset on)
 * @param offset how many loaded cases to pass over first
 * @param seed overrides the method's seed and seeds the fluency sampling (null: the method's own seed, sampling 0)
 * @param fluencyTokens length in tokens, prompt included, of the text generated for fluency and PPL_r
 * @param probes size of the fixed probe set of the continual curve (the first cases of the run)
 * @param probeEvery the curve has a point every this many edits (and one at the end)
 * @param protocol how answers are measured: teacher-forced (the KnowEdit metrics), generation, or both
 * @param resamples bootstrap resamples of the 95% intervals in summary.json and the report
 * @param beforeCache where pre-edit observations are kept and reused across runs (null: not kept; see BeforeCache)
 * @param jobs single mode: how many cases are evaluated at a time, each by a worker with its own copy of the model
 *     (loaded from the same directory with the same options, so N copies of its weights); the records do not depend
 *     on it. The libtorch thread count is process-global: call {@code Backend.threadsForWorkers(jobs)} before loading
 *     the model to give each worker its share of the cores. Continual mode takes 1: its edits accumulate in order.
 */
public record EvalOptions(String method, String hparams, Mode mode, Schedule schedule, Integer limit, int offset,
        Long seed, int fluencyTokens, int probes, int probeEvery, Protocol protocol, int resamples,
        java.nio.file.Path beforeCache, int jobs) {

    /** Options of one job at a time. */
    public EvalOptions(String method, String hparams, Mode mode, Schedule schedule, Integer limit, int offset,
            Long seed, int fluencyTokens, int probes, int probeEvery, Protocol protocol, int resamples,
            java.nio.file.Path beforeCache) {
        this(method, hparams, mode, schedule, limit, offset, seed, fluencyTokens, probes, probeEvery, protocol,
                resamples, beforeCache, 1);
    }

    /** Options without a cache of pre-edit observations. */
    public EvalOptions(String method, String hparams, Mode mode, Schedule schedule, Integer limit, int offset,
            Long seed, int fluencyTokens, int probes, int probeEvery, Protocol protocol, int resamples) {
        this(method, hparams, mode, schedule, limit, offset, seed, fluencyTokens, probes, probeEvery, protocol,
                resamples, null);
    }

    /** Options of the teacher-forced protocol with the default number of bootstrap resamples. */
    public EvalOptions(String method, String hparams, Mode mode, Schedule schedule, Integer limit, int offset,
            Long seed, int fluencyTokens, int probes, int probeEvery) {
        this(method, hparams, mode, schedule, limit, offset, seed, fluencyTokens, probes, probeEvery,
                Protocol.TEACHER_FORCED, Bootstrap.DEFAULT_RESAMPLES);
    }

    public enum Mode {
        SINGLE, CONTINUAL;

        public static Mode parse(String s) {
            return parseEnum(Mode.class, s, "mode");
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** When continual runs measure: right after each case's own edit, or every case after all edits. */
    public enum Schedule {
        IMMEDIATE, FINAL;

        public static Schedule parse(String s) {
            return parseEnum(Schedule.class, s, "schedule");
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public EvalOptions {
        if (method == null || method.isBlank()) {
            throw new IceditException("no method given");
        }
        if (mode == null) {
            mode = Mode.SINGLE;
        }
        if (schedule == null) {
            schedule = Schedule.IMMEDIATE;
        }
        if (limit != null && limit < 1) {
            throw new IceditException("--limit must be >= 1, got " + limit);
        }
        if (offset < 0) {
            throw new IceditException("--offset must be >= 0, got " + offset);
        }
        if (fluencyTokens < 1) {
            throw new IceditException("fluency length must be >= 1 token, got " + fluencyTokens);
        }
        if (probes < 1 || probeEvery < 1) {
            throw new IceditException("--probes and --probe-every must be >= 1");
        }
        if (protocol == null) {
            protocol = Protocol.TEACHER_FORCED;
        }
        if (resamples < 1) {
            throw new IceditException("--resamples must be >= 1, got " + resamples);
        }
        if (jobs < 1) {
            throw new IceditException("--jobs must be >= 1, got " + jobs);
        }
        if (jobs > 1 && mode == Mode.CONTINUAL) {
            throw new IceditException("--jobs " + jobs + " needs --mode single: continual edits accumulate one after"
                    + " the other and cannot be split among workers");
        }
    }

    public static EvalOptions defaults(String method) {
        return new EvalOptions(method, null, Mode.SINGLE, Schedule.IMMEDIATE, null, 0, null, 100, 10, 10);
    }

    public EvalOptions withMode(Mode m, Schedule s) {
        return new EvalOptions(method, hparams, m, s, limit, offset, seed, fluencyTokens, probes, probeEvery, protocol,
                resamples, beforeCache, jobs);
    }

    /** These options with pre-edit observations kept under {@code dir} (null: not kept). */
    public EvalOptions withBeforeCache(java.nio.file.Path dir) {
        return new EvalOptions(method, hparams, mode, schedule, limit, offset, seed, fluencyTokens, probes, probeEvery,
                protocol, resamples, dir, jobs);
    }

    /** These options with {@code n} cases evaluated at a time (single mode; see {@link #jobs}). */
    public EvalOptions withJobs(int n) {
        return new EvalOptions(method, hparams, mode, schedule, limit, offset, seed, fluencyTokens, probes, probeEvery,
                protocol, resamples, beforeCache, n);
    }

    private static <E extends Enum<E>> E parseEnum(Class<E> type, String s, String what) {
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(s)) {
                return e;
            }
        }
        throw new IceditException("unknown " + what + " '" + s + "' (expected " + String.join(" or ",
                java.util.Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase(Locale.ROOT)).toList())
                + ")");
    }
}
