package dev.icedit.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
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
 * <p>Rendering uses Jinjava. A template that uses what Jinjava cannot evaluate (Qwen3's uses slices with a step,
 * {@code namespace()} with computed values and Python string methods) fails with an error instead of rendering
 * something else than transformers would.
 */
final class ChatTemplate {
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
        Jinjava j = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                .withFailOnUnknownTokens(false).withLegacyOverrides(jinja2).build());
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
                "raiseException", String.class));
        return j;
    }

    /** Called by templates that refuse their input (a role they do not know, say). */
    public static String raiseException(String message) {
        throw new IceditException("the chat template refused the conversation: " + message);
    }

    /** The directory's template, or null when it has none. */
    static ChatTemplate load(Path dir, ConfigJson tokenizerConfig) {
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
        return new ChatTemplate(source, text, specials);
    }

    /** One user turn and the generation prompt, as text (special tokens written out as their text). */
    String render(String userMessage) {
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
                throw IceditException.inFile(source, "the chat template cannot be rendered as transformers renders"
                        + " it (Jinjava, line " + error.getLineno() + "): " + error.getMessage());
            }
        }
        return result.getOutput();
    }
}
