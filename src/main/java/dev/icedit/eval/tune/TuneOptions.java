package dev.icedit.eval.tune;

import dev.icedit.tensor.IceditException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How to tune a method on a model.
 *
 * @param method the editing method
 * @param from where the search starts: a YAML file or preset name (null: the preset for the model)
 * @param startChanges keys of the starting point to change first, by their YAML names
 * @param startLr the starting step size (lr, or ROME/MEMIT's v_lr), or null for the starting point's own
 * @param startClamp the starting clamp (norm_constraint, or ROME/MEMIT's clamp_norm_factor), or null
 * @param data the evaluation files the facts are sampled from (empty: {@link #DEFAULT_DATA})
 * @param facts how many facts in all, spread evenly over the files
 * @param targetEditSucc the Edit Success (percent, mean over the facts) a candidate must reach
 * @param minLocality the Locality (percent) it must keep on the facts' unrelated prompts
 * @param budgetMinutes no candidate is started that would end after this many minutes
 * @param seed seed of the sample
 */
public record TuneOptions(String method, String from, Map<String, Object> startChanges, Double startLr,
        Double startClamp, List<Path> data, int facts,
        double targetEditSucc, double minLocality, double budgetMinutes, long seed) {

    /** The KnowEdit files with short answers (WikiBio's are whole sentences), beside the checkout as in CI. */
    public static final List<String> DEFAULT_DATA = List.of(
            "../shared/data/knowedit/benchmark/ZsRE/ZsRE-test-all.json",
            "../shared/data/knowedit/benchmark/wiki_counterfact/train_cf.json",
            "../shared/data/knowedit/benchmark/wiki_recent/recent_train.json");

    public TuneOptions {
        if (method == null || method.isBlank()) {
            throw new IceditException("no method given");
        }
        startChanges = startChanges == null ? Map.of() : Map.copyOf(startChanges);
        data = data == null || data.isEmpty() ? defaultData() : List.copyOf(data);
        if (facts < data.size()) {
            throw new IceditException("--facts must be at least the number of data files (" + data.size() + "), got "
                    + facts);
        }
        if (!(targetEditSucc > 0 && targetEditSucc <= 100)) {
            throw new IceditException("--target must be in (0, 100], got " + targetEditSucc);
        }
        if (!(minLocality >= 0 && minLocality <= 100)) {
            throw new IceditException("--min-locality must be in [0, 100], got " + minLocality);
        }
        if ((startLr != null && !(startLr > 0)) || (startClamp != null && !(startClamp > 0))) {
            throw new IceditException("--lr and --clamp must be positive");
        }
        if (!(budgetMinutes > 0)) {
            throw new IceditException("--budget must be a positive number of minutes, got " + budgetMinutes);
        }
    }

    public static TuneOptions defaults(String method) {
        return new TuneOptions(method, null, Map.of(), null, null, List.of(), 12, 95, 90, 30, 0);
    }

    /**
     * {@link #DEFAULT_DATA} that exist, resolved against the working directory, else the installation directory;
     * fails naming them when none does.
     */
    static List<Path> defaultData() {
        List<Path> out = new ArrayList<>();
        String home = System.getProperty("icedit.home");
        for (String f : DEFAULT_DATA) {
            Path p = Path.of(f);
            if (!Files.exists(p) && home != null && Files.exists(Path.of(home).resolve(f))) {
                p = Path.of(home).resolve(f);
            }
            if (Files.exists(p)) {
                out.add(p);
            }
        }
        if (out.isEmpty()) {
            throw new IceditException("no --data given and none of the KnowEdit files is there: "
                    + String.join(", ", DEFAULT_DATA) + " (relative to the working directory or the installation)");
        }
        return out;
    }
}
