package dev.icedit.edit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.icedit.tensor.IceditException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The guard's unrelated prompts are unrelated: never the prompt being edited, a rephrasing or its context. */
class EditGuardTest {
    @TempDir Path tmp;

    @Test
    void theEditedPromptItsRephrasingsAndContextAreNotUnrelated() {
        EditRequest r = new EditRequest("The capital of France is", "Rome", null,
                List.of("Rome became the capital of France in 2025."));
        List<String> prompts = List.of("The capital of France is", "the  capital of FRANCE is:", "Water is made of",
                "France's capital city is", "Rome became the capital of France", "The capital of France is a city that",
                "The capital of Germany is");
        assertThat(EditGuard.unrelated(prompts, List.of(r), List.of("France's capital city is")))
                .containsExactly("Water is made of", "The capital of Germany is");
        // the README's --guard example edits the first default prompt: it is left out, the other seven stay
        assertThat(EditGuard.defaults().excluding(List.of(EditRequest.of("The capital of France is", "Rome")), List.of())
                .prompts()).hasSize(7).doesNotContain("The capital of France is");
    }

    @Test
    void promptsComeFromAFileOnePerLine() throws Exception {
        Path file = Files.writeString(tmp.resolve("prompts.txt"), "# unrelated facts\n\nThe Moon orbits\n  Cats are \n");
        assertThat(EditGuard.fromFile(file).prompts()).containsExactly("The Moon orbits", "Cats are");
        Path empty = Files.writeString(tmp.resolve("empty.txt"), "# nothing\n\n");
        assertThatThrownBy(() -> EditGuard.fromFile(empty)).isInstanceOf(IceditException.class)
                .hasMessageStartingWith(empty.toString()).hasMessageContaining("holds no prompts");
        assertThatThrownBy(() -> EditGuard.fromFile(tmp.resolve("missing.txt"))).isInstanceOf(IceditException.class)
                .hasMessageContaining("cannot read the guard prompts");
    }
}
