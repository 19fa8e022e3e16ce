package dev.icedit.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.icedit.model.config.ConfigJson;
import dev.icedit.tensor.IceditException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's chat template (chat_template.jinja, else tokenizer_config.json's {@code chat_template}), rendered as
 * transformers' {@code apply_chat_template(messages, add_generation_prompt=True, tokenize=False)} does for one user
 * message: Jinja with trim_blocks and lstrip_blocks, the special tokens and {@code raise_exception} in scope.
 *
 * <p>Rendering uses Jinjava, which does not parse all of Jinja: Qwen3's template, for one, needs
 * {@link #jinjavaSyntax} (slices with a step, computed {@code namespace()} values) and {@link PythonStrings}
 * ({@code startswith}, {@code strip}, ...). A template that still uses what Jinjava cannot evaluate fails with an
 * error instead of rendering something else than transformers would.
 */
public final class ChatTemplate {
    private static final Jinjava JINJA = newEngine();

    private final Path source;
    private final String template;
    private final Map<String, Object> specialTokens;

    private ChatTemplate(Path source, String template, Map<String, Object> specialTokens) {
        this.source = source;
        this.template = template;
        this.specialTokens = specialTokens;
    }

    private static Jinjava newEngine() {
        LegacyOverrides jinja2 = LegacyOverrides.newBuilder().withUseNaturalOperatorPrecedence(true)
                .withParseWhitespaceControlStrictly(true).withUseTrimmingForNotesAndExpressions(true)
                .withKeepNullableLoopValues(true).build();
        jinjava.javax.el.CompositeELResolver resolver = new jinjava.javax.el.CompositeELResolver();
        resolver.add(new PythonStrings());
        resolver.add(com.hubspot.jinjava.el.JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        Jinjava j = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                .withFailOnUnknownTokens(false).withLegacyOverrides(jinja2).withElResolver(resolver).build());
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
                "raiseException", String.class));
        return j;
    }

    /** Called by templates that refuse their input (a role they do not know, say). */
    public static String raiseException(String message) {
        throw new IceditException("the chat template refused the conversation: " + message);
    }

    /** The directory's template, or null when it has none. */
    public static ChatTemplate load(Path dir, ConfigJson tokenizerConfig) {
        Path jinja = dir.resolve("chat_template.jinja");
        String text = null;
        Path source = jinja;
        if (Files.exists(jinja)) {
            try {
                text = Files.readString(jinja);
            } catch (IOException e) {
                throw IceditException.inFile(jinja, "cannot read: " + e.getMessage());
            }
        } else if (tokenizerConfig.has("chat_template")) {
            source = tokenizerConfig.file;
            JsonNode n = tokenizerConfig.node("chat_template");
            if (n.isTextual()) {
                text = n.asText();
            } else if (n.isArray()) {
                for (JsonNode named : n) {
                    if ("default".equals(named.path("name").asText())) {
                        text = named.path("template").asText(null);
                    }
                }
                if (text == null) {
                    throw IceditException.inFile(source, "chat_template lists no template named 'default'");
                }
            } else {
                throw IceditException.inFile(source, "chat_template must be a string or a list of named templates");
            }
        }
        if (text == null) {
            return null;
        }
        Map<String, Object> specials = new HashMap<>();
        for (String key : List.of("bos_token", "eos_token", "unk_token", "pad_token")) {
            specials.put(key, TokenizerBackend.tokenContent(tokenizerConfig, key));
        }
        return new ChatTemplate(source, jinjavaSyntax(text), specials);
    }

    /**
     * The same template in the Jinja that Jinjava parses: {@code x[::-1]} becomes {@code (x|reverse)}, and each
     * value given to {@code namespace(...)} is parenthesised (Jinjava reads {@code b=n - 1} as {@code (b=n) - 1}).
     */
    static String jinjavaSyntax(String template) {
        String t = template.replaceAll("([A-Za-z_][A-Za-z0-9_.]*)\\[::-1\\]", "($1|reverse)");
        StringBuilder out = new StringBuilder();
        int from = 0;
        for (int at = t.indexOf("namespace(", from); at >= 0; at = t.indexOf("namespace(", from)) {
            int open = at + "namespace(".length();
            out.append(t, from, open);
            int depth = 0;
            int i = open;
            int argStart = open;
            for (; i < t.length(); i++) {
                char c = t.charAt(i);
                if (c == '\'' || c == '"') {
                    i = t.indexOf(c, i + 1);
                    if (i < 0) {
                        return template; // unbalanced quotes: leave it to the engine to report
                    }
                } else if (c == '(' || c == '[' || c == '{') {
                    depth++;
                } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
                    depth--;
                } else if ((c == ',' || c == ')') && depth == 0) {
                    out.append(parenthesiseValue(t.substring(argStart, i))).append(c);
                    argStart = i + 1;
                    if (c == ')') {
                        break;
                    }
                }
            }
            from = i + 1;
        }
        out.append(t.substring(Math.min(from, t.length())));
        return out.toString();
    }

    private static String parenthesiseValue(String arg) {
        int eq = arg.indexOf('=');
        if (eq < 0 || arg.startsWith("=", eq + 1)) {
            return arg;
        }
        return arg.substring(0, eq + 1) + "(" + arg.substring(eq + 1) + ")";
    }

    /** The str methods chat templates call (Jinja runs on Python strings; Jinjava's are Java's). */
    static final class PythonStrings extends jinjava.javax.el.ELResolver {
        @Override
        public Object invoke(jinjava.javax.el.ELContext context, Object base, Object method, Class<?>[] types,
                Object[] params) {
            if (!(base instanceof String s) || method == null) {
                return null;
            }
            Object[] p = params == null ? new Object[0] : params;
            String arg = p.length > 0 && p[0] != null ? p[0].toString() : null;
            Object result;
            switch (method.toString()) {
                case "startswith" -> result = arg != null && s.startsWith(arg);
                case "endswith" -> result = arg != null && s.endsWith(arg);
                case "strip" -> result = stripEnd(stripStart(s, arg), arg);
                case "lstrip" -> result = stripStart(s, arg);
                case "rstrip" -> result = stripEnd(s, arg);
                case "upper" -> result = s.toUpperCase(java.util.Locale.ROOT);
                case "lower" -> result = s.toLowerCase(java.util.Locale.ROOT);
                case "split" -> result = arg == null ? List.of(s.strip().split("\\s+"))
                        : List.of(s.split(java.util.regex.Pattern.quote(arg), -1));
                default -> {
                    return null;
                }
            }
            context.setPropertyResolved(true);
            return result;
        }

        private static String stripStart(String s, String chars) {
            int i = 0;
            while (i < s.length() && (chars == null ? Character.isWhitespace(s.charAt(i)) : chars.indexOf(s.charAt(i)) >= 0)) {
                i++;
            }
            return s.substring(i);
        }

        private static String stripEnd(String s, String chars) {
            int i = s.length();
            while (i > 0 && (chars == null ? Character.isWhitespace(s.charAt(i - 1)) : chars.indexOf(s.charAt(i - 1)) >= 0)) {
                i--;
            }
            return s.substring(0, i);
        }

        @Override
        public Object getValue(jinjava.javax.el.ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public Class<?> getType(jinjava.javax.el.ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public void setValue(jinjava.javax.el.ELContext context, Object base, Object property, Object value) {
        }

        @Override
        public boolean isReadOnly(jinjava.javax.el.ELContext context, Object base, Object property) {
            return true;
        }

        @Override
        public java.util.Iterator<java.beans.FeatureDescriptor> getFeatureDescriptors(
                jinjava.javax.el.ELContext context, Object base) {
            return null;
        }

        @Override
        public Class<?> getCommonPropertyType(jinjava.javax.el.ELContext context, Object base) {
            return null;
        }
    }

    /** One user turn and the generation prompt, as text (special tokens written out as their text). */
    public String render(String userMessage) {
        Map<String, Object> context = new HashMap<>(specialTokens);
        Map<String, Object> message = new HashMap<>();
        message.put("role", "user");
        message.put("content", userMessage);
        context.put("messages", List.of(message));
        context.put("add_generation_prompt", true);
        RenderResult result;
        try {
            result = JINJA.renderForResult(template, context);
        } catch (IceditException e) {
            throw e;
        } catch (RuntimeException e) {
            throw IceditException.inFile(source, "cannot render the chat template: " + e.getMessage());
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                for (Throwable t = error.getException(); t != null; t = t.getCause()) {
                    if (t instanceof IceditException refused) {
                        throw IceditException.inFile(source, refused.getMessage());
                    }
                }
                throw IceditException.inFile(source, "the chat template cannot be rendered as transformers renders"
                        + " it (Jinjava, line " + error.getLineno() + "): " + error.getMessage());
            }
        }
        return result.getOutput();
    }
}
