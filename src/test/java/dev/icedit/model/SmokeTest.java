package dev.icedit.model;

import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import static org.assertj.core.api.Assertions.assertThat;

import dev.icedit.testing.TinyModels;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SmokeTest {
    @TempDir Path tmp;

    @Test
    void loadsForwardsGeneratesAndSaves() throws Exception {
        for (var cfg : List.of(TinyModels.llama(2, 32, 64), TinyModels.gpt2(2, 32, 64))) {
            Path dir = TinyModels.write(tmp.resolve(cfg.get("model_type").toString()), cfg, 1);
            try (LanguageModel m = LanguageModel.load(dir)) {
                var gen = Generator.generate(m, List.of(new long[] {3, 4, 5}, new long[] {7, 8}), GenerationOptions.greedy(5));
                System.out.println(cfg.get("model_type") + " " + java.util.Arrays.toString(gen.get(0)) + " " + java.util.Arrays.toString(gen.get(1)));
                var alone = Generator.generate(m, List.of(new long[] {7, 8}), GenerationOptions.greedy(5));
                assertThat(alone.get(0)).isEqualTo(gen.get(1));
                m.save(tmp.resolve("saved-" + cfg.get("model_type")));
            }
        }
    }
}
