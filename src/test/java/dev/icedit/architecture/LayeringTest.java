package dev.icedit.architecture;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * Keeps the layers: cli/server on top of edit/eval, on top of model, on top of tensor. The model runtime knows
 * nothing of editing; metrics and datasets know nothing of particular methods; methods know nothing of datasets.
 */
class LayeringTest {
    static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.icedit");

    @Test
    void layersOnlyDependDownwards() {
        layeredArchitecture().consideringOnlyDependenciesInLayers().withOptionalLayers(true)
                .layer("cli").definedBy("dev.icedit.cli..")
                .layer("server").definedBy("dev.icedit.server..")
                .layer("edit").definedBy("dev.icedit.edit..")
                .layer("eval").definedBy("dev.icedit.eval..")
                .layer("model").definedBy("dev.icedit.model..")
                .layer("tensor").definedBy("dev.icedit.tensor..")
                .whereLayer("cli").mayNotBeAccessedByAnyLayer()
                .whereLayer("server").mayOnlyBeAccessedByLayers("cli")
                .whereLayer("edit").mayOnlyBeAccessedByLayers("cli", "server", "eval")
                .whereLayer("eval").mayOnlyBeAccessedByLayers("cli", "server")
                .whereLayer("model").mayOnlyBeAccessedByLayers("cli", "server", "edit", "eval")
                .check(CLASSES);
    }

    /**
     * Inside the model layer: config records (read from config.json) at the bottom, the tokenizer on them, the
     * runtime (architectures, weights, saving) on both, generation and scoring on top.
     */
    @Test
    void modelSubpackagesOnlyDependDownwards() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("generate").definedBy("dev.icedit.model.generate..")
                .layer("runtime").definedBy("dev.icedit.model")
                .layer("tokenizer").definedBy("dev.icedit.model.tokenizer..")
                .layer("config").definedBy("dev.icedit.model.config..")
                .whereLayer("generate").mayNotBeAccessedByAnyLayer()
                .whereLayer("runtime").mayOnlyBeAccessedByLayers("generate")
                .whereLayer("tokenizer").mayOnlyBeAccessedByLayers("generate", "runtime")
                .whereLayer("config").mayOnlyBeAccessedByLayers("generate", "runtime", "tokenizer")
                .check(CLASSES);
    }

    @Test
    void editingMethodsKnowNothingOfEachOtherOrOfDatasets() {
        noClasses().that().resideInAPackage("dev.icedit.edit..").should()
                .dependOnClassesThat().resideInAPackage("dev.icedit.eval..").check(CLASSES);
        noClasses().that().resideInAPackage("dev.icedit.edit.ice..").should()
                .dependOnClassesThat().resideInAnyPackage("dev.icedit.edit.ft..", "dev.icedit.edit.rome..",
                        "dev.icedit.edit.memit..", "dev.icedit.edit.alphaedit..").check(CLASSES);
        // the shared tuning loop and the locate-then-edit methods stay apart; AlphaEdit is MEMIT's pipeline with
        // another solve, so it alone may use memit
        noClasses().that().resideInAnyPackage("dev.icedit.edit.tuning..", "dev.icedit.edit.locate..").should()
                .dependOnClassesThat().resideInAnyPackage("dev.icedit.edit.rome..", "dev.icedit.edit.memit..",
                        "dev.icedit.edit.alphaedit..", "dev.icedit.edit.ice..").check(CLASSES);
        noClasses().that().resideInAnyPackage("dev.icedit.edit.rome..", "dev.icedit.edit.memit..").should()
                .dependOnClassesThat().resideInAnyPackage("dev.icedit.edit.alphaedit..", "dev.icedit.edit.tuning..",
                        "dev.icedit.edit.ice..", "dev.icedit.edit.ft..").check(CLASSES);
    }

    @Test
    void evaluationUsesMethodsOnlyThroughTheEditorInterface() {
        noClasses().that().resideInAPackage("dev.icedit.eval..").should()
                .dependOnClassesThat().resideInAnyPackage("dev.icedit.edit.ice..", "dev.icedit.edit.ft..",
                        "dev.icedit.edit.rome..", "dev.icedit.edit.memit..", "dev.icedit.edit.tuning..",
                        "dev.icedit.edit.alphaedit..", "dev.icedit.edit.locate..")
                .allowEmptyShould(true).check(CLASSES);
    }
}
