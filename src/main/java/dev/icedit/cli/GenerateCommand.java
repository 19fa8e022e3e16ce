package dev.icedit.cli;

import dev.icedit.model.LanguageModel;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "generate", mixinStandardHelpOptions = true, description = "Continue a prompt.")
final class GenerateCommand implements Callable<Integer> {
    @Mixin ModelOption model;
    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-p", "--prompt"}, required = true, description = "text to continue") String prompt;
    @Option(names = "--max-new-tokens", defaultValue = "40", description = "default: ${DEFAULT-VALUE}") int maxNewTokens;
    @Option(names = "--min-new-tokens", defaultValue = "0", description = "EOS is not allowed before this") int minNewTokens;
    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default); > 0 samples") double temperature;
    @Option(names = "--top-k", defaultValue = "0", description = "sample from the k most likely tokens (0 = all)") int topK;
    @Option(names = "--top-p", defaultValue = "1", description = "nucleus sampling mass (1 = off)") double topP;
    @Option(names = "--seed", defaultValue = "0", description = "sampling seed") long seed;
    @Option(names = "--chat-template", description = ModelOption.CHAT_TEMPLATE_HELP) boolean chatTemplate;

    @Override
    public Integer call() {
        GenerationOptions opts = new GenerationOptions(maxNewTokens, minNewTokens, temperature, topK, topP, seed, true);
        if (prompt.isEmpty()) {
            throw new dev.icedit.tensor.IceditException("prompt is empty");
        }
        try (LanguageModel m = model.load(chatTemplate)) {
            long[] ids = m.tokenizer().encodePrompt(prompt);
            long[] out = Generator.generate(m, List.of(ids), opts).get(0);
            spec.commandLine().getOut().println(prompt + m.tokenizer().decode(out));
        }
        return 0;
    }
}
