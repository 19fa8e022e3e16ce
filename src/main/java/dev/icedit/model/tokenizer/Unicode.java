package dev.icedit.model.tokenizer;

import dev.icedit.tensor.IceditException;

/**
 * Whether a Java string is valid Unicode text. JSON lets a string hold a lone UTF-16 surrogate ("\ud800"), which
 * is no character at all: the tokenizer silently turns it into replacement characters, and writing it as UTF-8
 * fails. Text from users (prompts, targets, dataset records) is therefore checked where it comes in.
 */
public final class Unicode {
    private Unicode() {}

    /** The index of the first surrogate without its pair, or -1 when the text is well formed. */
    public static int unpairedSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }

    /** Why {@code s} is not valid text, naming it as {@code what}, or null when it is. */
    public static String problem(String s, String what) {
        int at = s == null ? -1 : unpairedSurrogate(s);
        return at < 0 ? null : what + " contains an unpaired UTF-16 surrogate (\\u"
                + Integer.toHexString(s.charAt(at)) + " at character " + at + "), which is not valid Unicode";
    }

    /** Refuses text with an unpaired surrogate. */
    public static String requireValid(String s, String what) {
        String p = problem(s, what);
        if (p != null) {
            throw new IceditException(p);
        }
        return s;
    }

    /** The text with each unpaired surrogate replaced by U+FFFD, for output that must be encodable. */
    public static String replaceInvalid(String s) {
        if (s == null || unpairedSurrogate(s) < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                b.append(c).append(s.charAt(++i));
            } else {
                b.append(Character.isSurrogate(c) ? '\uFFFD' : c);
            }
        }
        return b.toString();
    }
}
