package dev.icedit.edit.locate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.icedit.edit.EditRequest;
import dev.icedit.edit.locate.SubjectLocator.Located;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.tokenizer.Tokenizer;
import dev.icedit.tensor.IceditException;
import dev.icedit.testing.Golden;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Subject location on real tokenizers: one that adds a BOS (golden llama) and one that does not (golden gpt2), both
 * byte-level BPE where a space belongs to the following token. The check decodes the tokens up to the one found:
 * for the last subject token they must spell the text up to the end of the subject, and the next token must start
 * after it.
 */
class SubjectLocatorTest {
    @ParameterizedTest
    @ValueSource(strings = {"llama", "gpt2"})
    void findsTheSubjectsLastTokenWhateverItsCaseAndSpaces(String family) {
        try (LanguageModel model = LanguageModel.load(Golden.ROOT.resolve(family))) {
            Tokenizer tok = model.tokenizer();
            String prompt = "The Eiffel Tower's height is";
            for (String subject : List.of("Eiffel Tower", "  Eiffel Tower ", "eiffel TOWER")) {
                Located l = SubjectLocator.locate(tok, "", prompt, subject, FactToken.SUBJECT_LAST);
                assertThat(upTo(tok, l)).isEqualTo("The Eiffel Tower");
                assertThat(tok.decode(Arrays.copyOfRange(l.ids(), l.position() + 1, l.ids().length)))
                        .isEqualTo("'s height is");
            }
            Located first = SubjectLocator.locate(tok, "", prompt, "Eiffel Tower", FactToken.SUBJECT_FIRST);
            assertThat(tok.decode(Arrays.copyOf(first.ids(), first.position()))).isEqualTo("The");
            assertThat(upTo(tok, first)).startsWith("The E").isNotEqualTo("The Eiffel Tower");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "gpt2"})
    void handlesPrefixesSubjectsAtTheStartAndNonAsciiText(String family) {
        try (LanguageModel model = LanguageModel.load(Golden.ROOT.resolve(family))) {
            Tokenizer tok = model.tokenizer();
            Located start = SubjectLocator.locate(tok, "", "Danielle Darrieux was born in", "danielle darrieux",
                    FactToken.SUBJECT_LAST);
            assertThat(upTo(tok, start)).isEqualTo("Danielle Darrieux");
            // the subject is searched for in the prompt, not in the prefix, which here names it too
            Located prefixed = SubjectLocator.locate(tok, "Paris is big. ", "I love Paris in spring", "Paris",
                    FactToken.SUBJECT_LAST);
            assertThat(upTo(tok, prefixed)).isEqualTo("Paris is big. I love Paris");
            Located accents = SubjectLocator.locate(tok, "", "Café Müller is in", "Müller", FactToken.SUBJECT_LAST);
            assertThat(upTo(tok, accents)).isEqualTo("Café Müller");
            // characters outside the basic plane count twice in Java strings and once in the tokenizer's offsets
            Located emoji = SubjectLocator.locate(tok, "\uD83D\uDE00 ", "The Louvre is in", "Louvre",
                    FactToken.SUBJECT_LAST);
            assertThat(upTo(tok, emoji)).isEqualTo("\uD83D\uDE00 The Louvre");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama"})
    void failsClearlyWhenTheSubjectIsMissing(String family) {
        try (LanguageModel model = LanguageModel.load(Golden.ROOT.resolve(family))) {
            assertThatThrownBy(() -> SubjectLocator.locate(model.tokenizer(), "", "The capital of France is", "Spain",
                    FactToken.SUBJECT_LAST)).isInstanceOf(IceditException.class)
                    .hasMessageContaining("subject 'Spain' does not occur in the prompt 'The capital of France is'");
            EditRequest noSubject = EditRequest.of("The capital of France is", "Rome");
            assertThatThrownBy(() -> SubjectLocator.requireSubject(noSubject, "ROME"))
                    .isInstanceOf(IceditException.class).hasMessageContaining("ROME needs the subject")
                    .hasMessageContaining("--subject");
            assertThatThrownBy(() -> FactToken.parse("last")).isInstanceOf(IceditException.class)
                    .hasMessageContaining("subject_last");
        }
    }

    /** The text of the tokens up to and including the located one (special tokens left out). */
    private static String upTo(Tokenizer tok, Located l) {
        return tok.decode(Arrays.copyOf(l.ids(), l.position() + 1));
    }
}
