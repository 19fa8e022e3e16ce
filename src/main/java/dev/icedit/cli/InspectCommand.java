package dev.icedit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.icedit.edit.Editors;
import dev.icedit.edit.Presets;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.config.ModelConfig;
import dev.icedit.tensor.Backend;
import dev.icedit.tensor.DType;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"Show a model's architecture (rope type, head_dim, tied embeddings, attention window, q/k norm),"
                + " parameter count, dtypes and memory, and the preset each editing method would use and why."})
final class InspectCommand implements Callable<Integer> {
    @Mixin ModelOption model;
    @Spec picocli.CommandLine.Model.CommandSpec spec;
    @Option(names = "--json", description = "print JSON") boolean json;

    @Override
    public Integer call() throws Exception {
        try (LanguageModel m = model.load()) {
            Map<String, Object> info = describe(m);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(info));
            } else {
                print(out, info, "");
            }
        }
        return 0;
    }

    /** Scalars one per line; nested maps as an indented block under their key. */
    private static void print(PrintWriter out, Map<String, Object> info, String indent) {
        for (Map.Entry<String, Object> e : info.entrySet()) {
            if (e.getValue() instanceof Map<?, ?> nested && nested.values().stream().anyMatch(v -> v instanceof Map)) {
                out.printf("%s%s:%n", indent, e.getKey());
                @SuppressWarnings("unchecked") Map<String, Object> inner = (Map<String, Object>) nested;
                print(out, inner, indent + "  ");
            } else if (e.getValue() instanceof Map<?, ?> flat && indent.isEmpty()) {
                out.printf("%s:%n", e.getKey());
                flat.forEach((k, v) -> out.printf("  %-20s %s%n", k, v));
            } else {
                out.printf("%s%-" + Math.max(1, 22 - indent.length()) + "s %s%n", indent, e.getKey(), e.getValue());
            }
        }
    }

    static Map<String, Object> describe(LanguageModel m) {
        ModelConfig c = m.config();
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("directory", m.directory().toString());
        info.put("model_type", c.modelType());
        info.put("layers", c.numLayers());
        info.put("hidden_size", c.hiddenSize());
        info.put("intermediate_size", c.intermediateSize());
        info.put("heads", c.numHeads());
        info.put("vocab_size", c.vocabSize());
        info.put("context_window", c.maxPositions());
        info.put("tied_embeddings", c.tieWordEmbeddings());
        long params = m.parameterCount();
        info.put("parameters", params);
        Map<String, Integer> dtypes = new TreeMap<>();
        long diskBytes = 0;
        for (Map.Entry<String, DType> e : m.diskDTypes().entrySet()) {
            dtypes.merge(e.getValue().name(), 1, Integer::sum);
        }
        for (Map.Entry<String, long[]> e : c.parameterShapes().entrySet()) {
            long n = java.util.Arrays.stream(e.getValue()).reduce(1, (a, b) -> a * b);
            diskBytes += n * m.diskDTypes().get(e.getKey()).bytes();
        }
        info.put("dtypes_on_disk", dtypes);
        info.put("compute_dtype", m.computeType().toString());
        info.put("device", Backend.deviceName(m.device()));
        info.put("weights_on_disk_mb", Math.round(diskBytes / 1e5) / 10.0);
        info.put("weights_in_memory_mb", Math.round(params * (long) m.computeType().getNumOfBytes() / 1e5) / 10.0);
        info.put("mlp_output_weight", c.mlpOutputWeight(0).replace(".0.", ".{layer}."));
        info.put("architecture", c.features());
        Map<String, Object> presets = new LinkedHashMap<>();
        for (String method : Editors.names()) {
            try {
                Presets.Choice choice = Presets.forModel(method, c);
                presets.put(method, choice.summary());
            } catch (dev.icedit.tensor.IceditException e) {
                presets.put(method, "none: " + e.getMessage());
            }
        }
        info.put("presets", presets);
        try {
            info.put("tokenizer", m.tokenizer().transformersClass() + " (the class transformers builds for this"
                    + " directory, whose pipeline icedit runs)");
            info.put("bos_token_id", m.tokenizer().bosTokenId());
            info.put("eos_token_id", m.tokenizer().eosTokenId());
            info.put("eos_token_ids", m.tokenizer().eosTokenIds());
        } catch (RuntimeException noTokenizer) {
            info.put("tokenizer", "none (" + noTokenizer.getMessage() + ")");
        }
        return info;
    }
}
