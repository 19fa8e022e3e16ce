package dev.icedit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.icedit.edit.AppliedEdit;
import dev.icedit.edit.EditGuard;
import dev.icedit.edit.EditJournal;
import dev.icedit.edit.EditPatch;
import dev.icedit.edit.EditProgress;
import dev.icedit.edit.EditRequest;
import dev.icedit.edit.EditResult;
import dev.icedit.edit.Editor;
import dev.icedit.edit.Editors;
import dev.icedit.edit.HyperParams;
import dev.icedit.edit.Presets;
import dev.icedit.model.LanguageModel;
import dev.icedit.model.SaveTarget;
import dev.icedit.model.generate.GenerationOptions;
import dev.icedit.model.generate.Generator;
import dev.icedit.model.generate.Scorer;
import dev.icedit.model.tokenizer.Tokenizer;
import dev.icedit.tensor.IceditException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "edit", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Edit a fact into the model and show its answer before and after.",
            "The model on disk is not modified unless --save names its directory."})
final class EditCommand implements Callable<Integer> {
    @Mixin ModelOption model;
    @Spec picocli.CommandLine.Model.CommandSpec spec;
    @ParentCommand Main main;

    @Option(names = {"-p", "--prompt"}, description = "the prompt, e.g. \"The capital of France is\"") String prompt;
    @Option(names = {"-t", "--target"}, description = "the new answer, e.g. \"Rome\"") String target;
    @Option(names = "--subject", description = "the entity the fact is about (needed by ROME and MEMIT)") String subject;
    @Option(names = "--context", description = "context sentence for ICE (repeatable; default \"PROMPT TARGET.\")")
    List<String> context = new ArrayList<>();
    @Option(names = "--requests", paramLabel = "FILE",
            description = "JSON list of {prompt, target, subject, context} to edit together instead of --prompt/--target")
    Path requestsFile;
    @Option(names = "--method", defaultValue = "ICE", description = "editing method (default ${DEFAULT-VALUE}; see 'icedit edit --list-methods')")
    String method;
    @Option(names = "--list-methods", description = "list the editing methods and exit") boolean listMethods;
    @Option(names = "--hparams", paramLabel = "FILE|PRESET",
            description = "hyper-parameter YAML file or preset name (default: the shipped preset for the model's shape,"
                    + " else one derived from its shape; the choice and the reason are printed)")
    String hparams;
    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override one hyper-parameter of the preset,"
            + " VALUE in YAML (repeatable), e.g. --set norm_constraint=1e-3 --set layers=[2,3]")
    Map<String, String> set = new LinkedHashMap<>();
    @Option(names = "--seed", description = "seed for the method's random choices (overrides the hparams' seed)") Long seed;
    @Option(names = "--guard", description = "after the edit, check the target is the greedy answer and unrelated"
            + " prompts keep theirs; if not, reject the edit: revert it and write no patch and no model") boolean guard;
    @Option(names = "--guard-prompts", paramLabel = "FILE", description = "the guard's unrelated prompts, one per line"
            + " (default: eight general-knowledge prompts); implies --guard") Path guardPrompts;
    @Option(names = "--save", paramLabel = "DIR", description = "save the edited model to this directory (new, empty,"
            + " or a model icedit saved)") Path save;
    @Option(names = "--patch", paramLabel = "FILE", description = "write the edit as a reversible patch file") Path patch;
    @Option(names = "--overwrite", description = "let --save write into a non-empty directory icedit did not write"
            + " (only its model files are replaced) and --patch replace a file that is not a patch") boolean overwrite;
    @Option(names = "--json", description = "print the result as JSON") boolean json;
    @Option(names = "--quiet", description = "no progress bar") boolean quiet;
    @Option(names = "--chat-template", description = ModelOption.CHAT_TEMPLATE_HELP) boolean chatTemplate;
    private String presetLine;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (listMethods) {
            for (String n : Editors.names()) {
                out.printf("%-10s %s%n", n, Editors.method(n).description());
            }
            return 0;
        }
        List<EditRequest> requests = requests();
        // refuse a place the results may not go before spending the edit's time
        if (save != null) {
            SaveTarget.check(save, overwrite);
        }
        if (patch != null) {
            EditPatch.refuseToReplace(patch.toAbsolutePath(), overwrite);
        }
        try (LanguageModel m = model.load(chatTemplate)) {
            Presets.Choice preset = Presets.resolve(method, m.config(), hparams);
            Object hp = preset.hyperParams();
            Map<String, Object> overrides = HyperParams.parseValues(set);
            if (!overrides.isEmpty()) {
                hp = HyperParams.with(hp, overrides);
            }
            if (seed != null) {
                hp = Editors.method(method).reseed(hp, seed);
            }
            Editor editor = Editors.method(method).create(hp);
            List<Map<String, Object>> before = measure(m, requests);
            EditGuard asked = guard || guardPrompts != null
                    ? (guardPrompts != null ? EditGuard.fromFile(guardPrompts) : EditGuard.defaults()) : null;
            EditGuard guardian = asked == null ? null : asked.excluding(requests, List.of());
            EditGuard.Baseline baseline = guardian == null ? null : guardian.capture(m);
            EditResult result;
            try (Progress progress = quiet || json ? Progress.quiet()
                    : new Progress(spec.commandLine().getErr(), main.terminal, false)) {
                result = editor.edit(m, requests, new EditProgress() {
                    @Override
                    public void step(int step, int total, double loss) {
                        progress.show(editor.method() + " steps", step, total, String.format("loss %.4f", loss));
                    }

                    @Override
                    public void work(String task, long done, long total) {
                        progress.show(editor.method() + " " + task, done, total, null);
                    }

                    @Override
                    public void phase(String description) {
                        progress.note(editor.method() + ": " + description);
                    }
                });
            }
            EditJournal journal = new EditJournal(m);
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("method", result.method());
            Map<String, Object> presetReport = preset.describe();
            presetLine = preset.summary();
            if (!overrides.isEmpty()) {
                presetReport.put("overrides", overrides);
                presetLine += "; with " + overrides;
            }
            report.put("preset", presetReport);
            report.put("hyper_parameters", result.hyperParameters());
            report.put("model", m.directory().toString());
            report.put("seconds", result.seconds());
            report.put("loss_per_step", result.lossPerStep());
            report.put("weights", new ArrayList<>(result.newWeights().keySet()));
            AppliedEdit applied = journal.apply(result);
            List<Map<String, Object>> after = measure(m, requests); // with the edit applied, even if it is rejected
            if (guardian != null) {
                EditGuard.Report g = guardian.check(m, requests, baseline);
                if (!g.passed()) {
                    journal.revert(applied.id(), false);
                    applied = null;
                    g = new EditGuard.Report(false, true, g.checks());
                }
                report.put("guard", g);
                report.put("guard_left_out", asked.prompts().stream().filter(p -> !guardian.prompts().contains(p))
                        .toList());
            }
            report.put("applied", applied != null);
            List<Map<String, Object>> rows = new ArrayList<>();
            for (int i = 0; i < requests.size(); i++) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("request", requests.get(i));
                row.put("before", before.get(i));
                row.put("after", after.get(i));
                rows.add(row);
            }
            report.put("requests", rows);
            if (applied != null && patch != null) {
                EditPatch.write(patch, applied, m, EditPatch.Values.STORED, overwrite);
                report.put("patch", patch.toAbsolutePath().toString());
            }
            if (applied != null && save != null) {
                m.save(save, overwrite);
                report.put("saved", save.toAbsolutePath().toString());
            }
            print(out, report, rows);
            return applied == null ? 1 : 0;
        }
    }

    private List<EditRequest> requests() throws java.io.IOException {
        if (requestsFile != null) {
            if (prompt != null || target != null) {
                throw new IceditException("give either --requests or --prompt/--target, not both");
            }
            EditRequest[] rs;
            try {
                rs = new ObjectMapper().readValue(requestsFile.toFile(), EditRequest[].class);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw IceditException.inFile(requestsFile, e.getCause() instanceof IceditException bad
                        ? bad.getMessage() : "expected a JSON list of {prompt, target, subject, context}: "
                        + e.getOriginalMessage());
            } catch (java.io.IOException e) {
                throw IceditException.io(requestsFile, "cannot read", e);
            }
            if (rs == null || rs.length == 0) {
                throw IceditException.inFile(requestsFile, "no requests");
            }
            for (int i = 0; i < rs.length; i++) {
                if (rs[i] == null) {
                    throw IceditException.inFile(requestsFile, "request " + i + " is null");
                }
            }
            return List.of(rs);
        }
        if (prompt == null || target == null) {
            throw new IceditException("--prompt and --target are required (or --requests FILE)");
        }
        return List.of(new EditRequest(prompt, target, subject, context));
    }

    /** The greedy continuation of each prompt and the probability of its target, under the current weights. */
    static List<Map<String, Object>> measure(LanguageModel m, List<EditRequest> requests) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (EditRequest r : requests) {
            Tokenizer.Continuation t = r.tokens(m.tokenizer());
            long[] promptIds = t.prompt();
            long[] targetIds = t.tokens();
            Scorer.Scored s = Scorer.score(m, promptIds, targetIds);
            long[] gen = Generator.generate(m, List.of(promptIds), GenerationOptions.greedy(targetIds.length + 6)).get(0);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("target_tokens", targetIds);
            row.put("greedy", m.tokenizer().decode(gen));
            row.put("target_probability", Math.exp(s.sum()));
            row.put("target_is_greedy", s.tokenAccuracy() == 1.0);
            out.add(row);
        }
        return out;
    }

    private void print(PrintWriter out, Map<String, Object> report, List<Map<String, Object>> rows) throws Exception {
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
            return;
        }
        out.println("preset: " + presetLine);
        out.printf("%s edit of %d request(s) in %.1f s; loss %s%n", report.get("method"), rows.size(),
                (double) report.get("seconds"), lossSummary((List<?>) report.get("loss_per_step")));
        for (Map<String, Object> row : rows) {
            EditRequest r = (EditRequest) row.get("request");
            @SuppressWarnings("unchecked") Map<String, Object> b = (Map<String, Object>) row.get("before");
            @SuppressWarnings("unchecked") Map<String, Object> a = (Map<String, Object>) row.get("after");
            out.printf("%n  prompt: %s%n  target: %s%n", r.prompt(), r.target());
            boolean rejected = Boolean.FALSE.equals(report.get("applied"));
            out.printf("  before: %-40s P(target) = %s%n", "\"" + b.get("greedy") + "\"",
                    probability((double) b.get("target_probability")));
            out.printf("  after:  %-40s P(target) = %s%s%n", "\"" + a.get("greedy") + "\"",
                    probability((double) a.get("target_probability")), rejected ? "  (the rejected edit)" : "");
        }
        if (report.get("guard") instanceof EditGuard.Report g) {
            List<?> leftOut = (List<?>) report.get("guard_left_out");
            if (!leftOut.isEmpty()) {
                out.printf("%nguard: left out %d unrelated prompt(s) that are about the edit itself: %s%n",
                        leftOut.size(), leftOut);
            }
            long unrelated = g.checks().stream().filter(c -> c.kind().equals("unrelated")).count();
            if (g.passed()) {
                out.printf("%sguard: passed (the target is the greedy answer; %d unrelated prompt(s) kept their"
                        + " answers)%n", leftOut.isEmpty() ? "\n" : "", unrelated);
            } else {
                out.printf("%sguard: REJECTED the edit and reverted it; the model is as it was before%n",
                        leftOut.isEmpty() ? "\n" : "");
                for (EditGuard.Check c : g.failures()) {
                    out.printf("  %s check failed for \"%s\": expected \"%s\", got \"%s\"%n", c.kind(), c.prompt(),
                            c.expected(), c.actual());
                }
                if (patch != null) {
                    out.println("  no patch was written (" + patch + ")");
                }
                if (save != null) {
                    out.println("  the model was not saved (" + save + ")");
                }
            }
        }
        if (report.containsKey("patch")) {
            out.println("patch written to " + report.get("patch"));
        }
        if (report.containsKey("saved")) {
            out.println("model saved to " + report.get("saved"));
        }
    }

    /** A probability with three significant digits, in scientific notation when small (2.51e-07). */
    static String probability(double p) {
        return p == 0 ? "0" : String.format(java.util.Locale.ROOT, "%.3g", p);
    }

    private static String lossSummary(List<?> losses) {
        if (losses.isEmpty()) {
            return "n/a";
        }
        return String.format("%.4f -> %.4f", ((Number) losses.get(0)).doubleValue(),
                ((Number) losses.get(losses.size() - 1)).doubleValue());
    }
}
