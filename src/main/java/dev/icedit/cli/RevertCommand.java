package dev.icedit.cli;

import dev.icedit.edit.EditPatch;
import dev.icedit.model.LanguageModel;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "revert", mixinStandardHelpOptions = true,
        description = "Undo a patch on a model that has it applied, restoring the original weights bit for bit.")
final class RevertCommand implements Callable<Integer> {
    @Mixin ModelOption model;
    @Spec picocli.CommandLine.Model.CommandSpec spec;
    @Option(names = "--patch", required = true, paramLabel = "FILE") Path patch;
    @Option(names = "--save", required = true, paramLabel = "DIR", description = "where to write the reverted model") Path save;
    @Option(names = "--overwrite", description = "let --save write into a non-empty directory icedit did not write"
            + " (only its model files are replaced)") boolean overwrite;

    @Override
    public Integer call() throws Exception {
        try (LanguageModel m = model.load()) {
            EditPatch.revert(patch, m);
            m.save(save, overwrite);
            spec.commandLine().getOut().printf("reverted %s; saved to %s%n", patch, save.toAbsolutePath());
        }
        return 0;
    }
}
