package dev.icedit.model.tokenizer;

import dev.icedit.model.config.ConfigJson;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.icedit.tensor.IceditException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Jinja that Jinjava needs help with, on a hand-made template whose expected output is what Python's jinja2
 * renders with transformers' settings (ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)).
 */
class ChatTemplateTest {
    static final String TEMPLATE = "{%- set ns = namespace(last=messages|length - 1, seen=false) %}\n"
            + "{%- for m in messages[::-1] %}\n"
            + "    {%- if m.content.startswith('<q>') and m.content.endswith('</q>') %}{% set ns.seen = true %}{% endif %}\n"
            + "{%- endfor %}\n"
            + "{{- bos_token }}{{ ns.last }}|{{ 'yes' if ns.seen else 'no' }}|{{ messages[0].content.strip('<>/q') }}"
            + "|{{ '  x  '.lstrip() }}|{{ '  x  '.rstrip() }}|{{ 'a</think>b'.split('</think>')[-1] }}"
            + "|{{ 'a.b'.split('.')[0] }}|{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}\n"
            + "{% if add_generation_prompt %}\n  <gen>\n{% endif %}";
    /** jinja2 3.1 with trim_blocks and lstrip_blocks, messages=[{"role": "user", "content": "<q>hi</q>"}]. */
    static final String JINJA2_OUTPUT = "<s>0|yes|hi|x  |  x|b|a|ABab\n  <gen>\n";

    @TempDir Path dir;

    private ChatTemplate load(String template) throws Exception {
        new ObjectMapper().writeValue(dir.resolve("tokenizer_config.json").toFile(),
                Map.of("bos_token", "<s>", "chat_template", template));
        return ChatTemplate.load(dir, ConfigJson.readOptional(dir.resolve("tokenizer_config.json")));
    }

    @Test
    void rendersAsJinja2Does() throws Exception {
        assertThat(load(TEMPLATE).render("<q>hi</q>")).isEqualTo(JINJA2_OUTPUT);
    }

    @Test
    void aTemplateFileBesideTheConfigWins() throws Exception {
        Files.writeString(dir.resolve("chat_template.jinja"), "[{{ messages[0].content }}]");
        assertThat(load(TEMPLATE).render("hi")).isEqualTo("[hi]");
    }

    @Test
    void refusalsAndUnrenderableTemplatesFailWithTheFile() throws Exception {
        assertThatThrownBy(() -> load("{{ raise_exception('only user and assistant roles') }}").render("hi"))
                .isInstanceOf(IceditException.class).hasMessageContaining("tokenizer_config.json")
                .hasMessageContaining("only user and assistant roles");
        assertThatThrownBy(() -> load("{% for m in messages %}{{ m.content }").render("hi"))
                .isInstanceOf(IceditException.class).hasMessageContaining("tokenizer_config.json");
    }
}
