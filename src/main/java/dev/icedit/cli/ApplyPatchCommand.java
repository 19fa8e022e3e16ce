package dev.icedit.cli;

import dev.icedit.edit.AppliedEdit;
import dev.icedit.edit.EditJournal;
import dev.icedit.edit.EditPatch;
import dev.icedit.model.LanguageModel;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "apply-patch", mixinStandardHelpOptions = true,
        description = "Apply an edit patch to a copy of the base model it was made from, and save the result.")
final class ApplyPatchCommand implements Callable<Integer> {
    @Mixin ModelOption model;
    @Spec picocli.CommandLine.Model.CommandSpec spec;
    @Option(names = "--patch", required = true, paramLabel = "FILE") Path patch;
    @Option(names = "--save", required = true, paramLabel = "DIR", description = "where to write the patched model") Path save;
    @Option(names = "--overwrite", description = "let --save write into a non-empty directory icedit did not write"
            + " (only its model files are replaced)") boolean overwrite;

    @Override
    public Integer call() throws Exception {
        try (LanguageModel m = model.load()) {
            AppliedEdit e = EditPatch.apply(patch, new EditJournal(m));
            m.save(save, overwrite);
            spec.commandLine().getOut().printf("applied %s patch (%d weight(s), %d request(s)); saved to %s%n",
                    e.method(), e.weightNames().size(), e.requests().size(), save.toAbsolutePath());
        }
        return 0;
    }
}
