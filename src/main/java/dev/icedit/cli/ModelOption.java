package dev.icedit.cli;

import dev.icedit.model.LanguageModel;
import dev.icedit.tensor.Backend;
import dev.icedit.tensor.DType;
import dev.icedit.tensor.IceditException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** --model, --device and --dtype, shared by every command that loads a model. */
public final class ModelOption {
    @Option(names = {"-m", "--model"}, paramLabel = "DIR",
            description = "Hugging Face model directory (default: the embedded default model, models/default)")
    Path model;

    @Option(names = "--device", paramLabel = "DEV", description = "cpu (default), gpu or gpu:N (needs the CUDA build)")
    String device;

    @Option(names = "--dtype", paramLabel = "T", description = "compute dtype: float32 (default) or float16")
    String dtype = "float32";

    public Path directory() {
        return model != null ? model : defaultModel();
    }

    public LanguageModel load() {
        return load(false);
    }

    /** Loads the model; with {@code chatTemplate} every prompt is wrapped in the model's chat template. */
    public LanguageModel load(boolean chatTemplate) {
        return LanguageModel.load(directory(), new LanguageModel.Options(
                device == null ? Backend.defaultDevice() : Backend.parseDevice(device), DType.parseCompute(dtype),
                chatTemplate));
    }

    /** The help text of --chat-template, the same for every command that has it. */
    static final String CHAT_TEMPLATE_HELP = "wrap each prompt as a user turn of the model's chat template"
            + " (tokenizer_config.json) and continue after its generation prompt; off by default, as the reference"
            + " implementations run";

    /**
     * The embedded default model: $ICEDIT_DEFAULT_MODEL, else models/default under the installation directory
     * (the launcher sets icedit.home), else under the working directory.
     */
    public static Path defaultModel() {
        String env = System.getenv("ICEDIT_DEFAULT_MODEL");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        String home = System.getProperty("icedit.home");
        Path p = (home != null ? Path.of(home) : Path.of("")).resolve("models/default").toAbsolutePath();
        if (!Files.isDirectory(p)) {
            throw new IceditException("no --model given and the default model is missing at " + p);
        }
        return p;
    }
}
