package dev.icedit.model.generate;

import dev.icedit.tensor.IceditException;

/**
 * How to continue a prompt. Temperature 0 means greedy decoding; otherwise tokens are sampled after temperature,
 * top-k (0 = off) and top-p (1 = off) in that order, from a generator seeded with {@code seed}, so a run is
 * reproducible. EOS cannot be produced before {@code minNewTokens}; with {@code stopAtEos} a row ends at EOS.
 */
public record GenerationOptions(int maxNewTokens, int minNewTokens, double temperature, int topK, double topP,
        long seed, boolean stopAtEos) {

    public GenerationOptions {
        if (maxNewTokens < 0) {
            throw new IceditException("max new tokens must be >= 0, got " + maxNewTokens);
        }
        if (minNewTokens < 0 || minNewTokens > maxNewTokens) {
            throw new IceditException("min new tokens must be between 0 and max new tokens (" + maxNewTokens
                    + "), got " + minNewTokens);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IceditException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IceditException("top-k must be >= 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IceditException("top-p must be in (0, 1], got " + topP);
        }
    }

    public static GenerationOptions greedy(int maxNewTokens) {
        return new GenerationOptions(maxNewTokens, 0, 0, 0, 1, 0, true);
    }

    public static GenerationOptions sampling(int maxNewTokens, double temperature, int topK, double topP, long seed) {
        return new GenerationOptions(maxNewTokens, 0, temperature, topK, topP, seed, true);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    public GenerationOptions withMinNewTokens(int min) {
        return new GenerationOptions(maxNewTokens, min, temperature, topK, topP, seed, stopAtEos);
    }

    public GenerationOptions withSeed(long s) {
        return new GenerationOptions(maxNewTokens, minNewTokens, temperature, topK, topP, s, stopAtEos);
    }
}
