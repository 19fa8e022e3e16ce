package dev.icedit.bench;

import dev.icedit.edit.EditProgress;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.EditResult;
import dev.icedit.edit.Editors;
import dev.icedit.edit.ice.IceObjective;
import dev.icedit.edit.tuning.TuningHyperParams;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.RandomModel;
import dev.icedit.tensor.Backend;
import dev.icedit.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One ICE edit (25 steps, 3 sampled tokens, layers 2-4, Adam, clamp) on a Llama-shaped model with random weights,
 * the shape of ../shared/bench/ice_step_pytorch.py (hidden 512, MLP 1408, 8 layers, vocab 8192), timed like it:
 * one warm-up edit, then the min and median of three. Run with tools/bench/ice-vs-pytorch.sh, which runs the
 * PyTorch baseline in the same session. Args: [hidden inter layers vocab].
 */
public final class IceBenchmark {
    public static void main(String[] args) throws Exception {
        int h = args.length > 3 ? Integer.parseInt(args[0]) : 512;
        int inter = args.length > 3 ? Integer.parseInt(args[1]) : 1408;
        int layers = args.length > 3 ? Integer.parseInt(args[2]) : 8;
        int vocab = args.length > 3 ? Integer.parseInt(args[3]) : 8192;
        Path dir = Files.createTempDirectory("icedit-ice-bench");
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("model_type", "llama");
        c.put("vocab_size", vocab);
        c.put("hidden_size", h);
        c.put("intermediate_size", inter);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", h / 64);
        c.put("num_key_value_heads", h / 64);
        c.put("max_position_embeddings", 512);
        c.put("rms_norm_eps", 1e-6);
        c.put("tie_word_embeddings", true);
        c.put("bos_token_id", 1);
        c.put("eos_token_id", 2);
        RandomModel.write(dir, c, DType.F32, 0.02, 0, Path.of("models/default"));
        TuningHyperParams hp = new TuningHyperParams("ICE", List.of(2, 3, 4), 25, 3, 7e-4, 0.0, 5e-4, 3, 100.0, false,
                true, TuningHyperParams.ICE, null, 0L);
        // about 12 prompt tokens, 3 target tokens and 24 context tokens, as the baseline uses
        EditRequest request = new EditRequest("The official language spoken in the city of Zorland is", "Quenyan",
                null, List.of("Zorland is a city where everyone speaks Quenyan and writes it too."));
        try (LanguageModel m = LanguageModel.load(dir)) {
            var tok = m.tokenizer();
            System.out.printf("java icedit threads %s model H%d I%d L%d V%d params %.1fM; tokens: prompt %d, target %d,"
                    + " context+prompt %d%n", System.getProperty("ai.djl.pytorch.num_threads", "default"), h, inter,
                    layers, vocab, m.parameterCount() / 1e6, tok.encode(request.prompt()).length,
                    request.tokens(tok).tokens().length,
                    tok.encode(IceObjective.PHRASES.get(1) + request.context().get(0) + " Now: " + request.prompt()).length);
            var editor = Editors.method("ICE").create(hp);
            editor.edit(m, List.of(request), EditProgress.NONE).close();
            double[] t = new double[3];
            for (int i = 0; i < 3; i++) {
                long t0 = System.nanoTime();
                try (EditResult r = editor.edit(m, List.of(request), EditProgress.NONE)) {
                    t[i] = (System.nanoTime() - t0) / 1e9;
                }
            }
            Arrays.sort(t);
            System.out.printf("ICE edit (25 steps) seconds: min %.3f median %.3f; matmul 2048^3 %.0f GFLOP/s%n", t[0], t[1],
                    Backend.matmulGflops(2048, 10));
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
