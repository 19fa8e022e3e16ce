package dev.icedit.edit.locate;

import dev.icedit.tensor.IceditException;
import java.util.Arrays;
import java.util.Locale;

/** Which token of the subject ROME and MEMIT read the key at and write the value for ({@code fact_token}). */
public enum FactToken {
    /** The subject's last token: where ROME's causal tracing finds the fact recalled (the released default). */
    SUBJECT_LAST,
    /** The subject's first token. */
    SUBJECT_FIRST;

    /** The name as the hyper-parameter files write it. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static FactToken parse(String s) {
        for (FactToken f : values()) {
            if (f.key().equals(s)) {
                return f;
            }
        }
        throw new IceditException("fact_token must be one of " + Arrays.stream(values()).map(FactToken::key).toList()
                + ", got '" + s + "'");
    }
}
