package dev.icedit.model.config;

import dev.icedit.tensor.IceditException;
import java.nio.file.Path;

/**
 * The top-k and top-p that {@code model.generate(do_sample=True)} applies when the caller names neither: the
 * model's {@code generation_config.json} values, else transformers' defaults (top_k 50, top_p 1.0). Llama-2-7b-chat's
 * file, for example, says top_p 0.9.
 */
public record SamplingDefaults(int topK, double topP) {
    /** transformers' GenerationConfig defaults. */
    public static final int TRANSFORMERS_TOP_K = 50;
    public static final double TRANSFORMERS_TOP_P = 1.0;

    public static SamplingDefaults read(Path modelDir) {
        Path file = modelDir.resolve("generation_config.json");
        ConfigJson gc = ConfigJson.readOptional(file);
        int topK = gc.intOr("top_k", TRANSFORMERS_TOP_K);
        double topP = gc.doubleOr("top_p", TRANSFORMERS_TOP_P);
        if (topK < 0) {
            throw IceditException.inFile(file, "key 'top_k' must be >= 0, found " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw IceditException.inFile(file, "key 'top_p' must be in (0, 1], found " + topP);
        }
        return new SamplingDefaults(topK, topP);
    }
}
