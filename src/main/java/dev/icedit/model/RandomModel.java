package dev.icedit.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.icedit.model.config.ConfigJson;
import dev.icedit.model.config.ModelConfig;
import dev.icedit.tensor.Backend;
import dev.icedit.tensor.DType;
import dev.icedit.tensor.SafetensorsWriter;
import dev.icedit.tensor.StoredTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a model directory with random weights for a given config.json content: for tests and benchmarks that need
 * a model of a given shape (a GPT-2 XL shape, say) without its trained weights. Matrices are N(0, std), norm
 * weights 1, biases 0. No tokenizer is written unless {@code tokenizerFrom} names a directory to copy it from.
 */
public final class RandomModel {
    private RandomModel() {}

    public static void write(Path dir, Map<String, Object> configJson, DType diskType, double std, long seed,
            Path tokenizerFrom) throws IOException {
        Files.createDirectories(dir);
        Path configFile = dir.resolve("config.json");
        ConfigJson.JSON.writerWithDefaultPrettyPrinter().writeValue(configFile.toFile(), configJson);
        ModelConfig config = ModelConfig.read(configFile);
        Backend.engine().setRandomSeed((int) seed);
        List<SafetensorsWriter.Tensor> tensors = new ArrayList<>();
        try (NDManager m = Backend.newManager(Device.cpu())) {
            for (Map.Entry<String, long[]> e : config.parameterShapes().entrySet()) {
                String name = e.getKey();
                long[] shape = e.getValue();
                // made when written, so that only one tensor is in memory at a time
                tensors.add(new SafetensorsWriter.Tensor(name, diskType, shape, () -> {
                    try (NDArray a = shape.length > 1
                            ? m.randomNormal(0, (float) std, new Shape(shape), ai.djl.ndarray.types.DataType.FLOAT32)
                            : name.endsWith(".bias") ? m.zeros(new Shape(shape)) : m.ones(new Shape(shape))) {
                        return StoredTensor.encode(a, diskType);
                    }
                }));
            }
            SafetensorsWriter.write(dir.resolve(WeightFiles.SINGLE), tensors, Map.of("format", "pt"));
        }
        if (tokenizerFrom != null) {
            for (String f : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
                if (Files.exists(tokenizerFrom.resolve(f))) {
                    Files.copy(tokenizerFrom.resolve(f), dir.resolve(f));
                }
            }
        }
    }
}
