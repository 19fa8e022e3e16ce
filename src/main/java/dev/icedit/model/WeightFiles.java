package dev.icedit.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.icedit.model.config.ConfigJson;
import dev.icedit.tensor.IceditException;
import dev.icedit.tensor.SafetensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors files of a model directory: {@code model.safetensors}, or the shards named by
 * {@code model.safetensors.index.json}. Keeps them open so that unchanged tensors can be copied byte for byte on
 * save.
 */
final class WeightFiles implements AutoCloseable {
    static final String SINGLE = "model.safetensors";
    static final String INDEX = "model.safetensors.index.json";

    /** Shard file name to its open file, in shard order. */
    final Map<String, SafetensorsFile> files;
    /** Tensor name as on disk to the shard file name holding it. */
    final Map<String, String> weightMap;
    final boolean sharded;
    final Map<String, String> indexMetadata;

    private WeightFiles(Map<String, SafetensorsFile> files, Map<String, String> weightMap, boolean sharded,
            Map<String, String> indexMetadata) {
        this.files = files;
        this.weightMap = weightMap;
        this.sharded = sharded;
        this.indexMetadata = indexMetadata;
    }

    static WeightFiles open(Path dir) {
        Path index = dir.resolve(INDEX);
        Path single = dir.resolve(SINGLE);
        Map<String, SafetensorsFile> files = new LinkedHashMap<>();
        Map<String, String> weightMap = new LinkedHashMap<>();
        try {
            if (Files.exists(index)) {
                ConfigJson idx = ConfigJson.read(index);
                JsonNode wm = idx.node("weight_map");
                if (wm == null || !wm.isObject()) {
                    throw IceditException.inFile(index, "missing 'weight_map' object");
                }
                List<String> shardNames = new ArrayList<>();
                wm.fields().forEachRemaining(e -> {
                    String shard = e.getValue().asText();
                    if (shard.contains("/") || shard.contains("\\") || shard.startsWith(".")) {
                        throw IceditException.inFile(index, "shard name '" + shard + "' is not a plain file name");
                    }
                    weightMap.put(e.getKey(), shard);
                    if (!shardNames.contains(shard)) {
                        shardNames.add(shard);
                    }
                });
                shardNames.sort(String::compareTo);
                for (String s : shardNames) {
                    files.put(s, SafetensorsFile.open(dir.resolve(s)));
                }
                for (Map.Entry<String, String> e : weightMap.entrySet()) {
                    if (files.get(e.getValue()).entry(e.getKey()) == null) {
                        throw IceditException.inFile(dir.resolve(e.getValue()), "tensor '" + e.getKey()
                                + "' is listed in " + INDEX + " but not in this shard");
                    }
                }
                Map<String, String> meta = new LinkedHashMap<>();
                JsonNode m = idx.node("metadata");
                if (m != null && m.isObject()) {
                    m.fields().forEachRemaining(e -> meta.put(e.getKey(), e.getValue().asText()));
                }
                return new WeightFiles(files, weightMap, true, meta);
            }
            if (Files.exists(single)) {
                SafetensorsFile f = SafetensorsFile.open(single);
                files.put(SINGLE, f);
                f.entries().keySet().forEach(n -> weightMap.put(n, SINGLE));
                return new WeightFiles(files, weightMap, false, Map.of());
            }
        } catch (RuntimeException e) {
            files.values().forEach(SafetensorsFile::close);
            throw e;
        }
        if (Files.exists(dir.resolve("pytorch_model.bin")) || Files.exists(dir.resolve("pytorch_model.bin.index.json"))) {
            throw IceditException.inFile(dir, "only PyTorch .bin weights found; convert them to safetensors first");
        }
        throw IceditException.inFile(dir, "no weights: expected " + SINGLE + " or " + INDEX);
    }

    SafetensorsFile fileOf(String diskName) {
        return files.get(weightMap.get(diskName));
    }

    @Override
    public void close() {
        files.values().forEach(SafetensorsFile::close);
    }
}
