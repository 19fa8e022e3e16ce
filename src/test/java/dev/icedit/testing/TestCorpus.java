package dev.icedit.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/** A small prose corpus for the covariance statistics of tiny models: seeded sentences from a fixed vocabulary. */
public final class TestCorpus {
    private static final List<String> SUBJECTS = List.of("The old miller", "A young teacher", "The river",
            "Her brother", "The city council", "A quiet farmer", "The northern wind", "My neighbour", "The captain",
            "An old friend", "The orchestra", "The library");
    private static final List<String> VERBS = List.of("walked along", "spoke about", "looked at", "remembered",
            "carried", "painted", "crossed", "praised", "waited near", "wrote to", "studied", "found");
    private static final List<String> OBJECTS = List.of("the stone bridge", "a letter from Paris", "the harbour",
            "the long winter", "a map of the valley", "the evening train", "the green hills", "an empty house",
            "the morning market", "a book of songs", "the castle gate", "the summer fields");
    private static final List<String> TAILS = List.of("before dawn", "in the rain", "with great care",
            "for many years", "without a word", "after the storm", "at the end of May", "near the sea");

    private TestCorpus() {}

    /** Writes {@code files} text files of about {@code sentences} sentences each into {@code dir}; returns dir. */
    public static Path write(Path dir, int files, int sentences, long seed) throws IOException {
        Files.createDirectories(dir);
        SplittableRandom r = new SplittableRandom(seed);
        for (int f = 0; f < files; f++) {
            StringBuilder sb = new StringBuilder();
            for (int s = 0; s < sentences; s++) {
                sb.append(pick(r, SUBJECTS)).append(' ').append(pick(r, VERBS)).append(' ').append(pick(r, OBJECTS))
                        .append(' ').append(pick(r, TAILS)).append(r.nextInt(5) == 0 ? ".\n\n" : ". ");
            }
            Files.writeString(dir.resolve("part" + f + ".txt"), sb.toString());
        }
        return dir;
    }

    private static String pick(SplittableRandom r, List<String> words) {
        return words.get(r.nextInt(words.size()));
    }
}
