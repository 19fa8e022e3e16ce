package dev.icedit.edit;

import dev.icedit.model.LanguageModel;
import java.util.List;

/**
 * An editing method with its hyper-parameters. {@link #edit} computes new values for the weights the method
 * changes and leaves the model as it was; {@link EditJournal#apply} installs them.
 */
public interface Editor {
    /** The method's registered name, for example "ICE". */
    String method();

    /** The hyper-parameters in use, as their YAML keys name them. */
    java.util.Map<String, Object> hyperParameters();

    /**
     * The values this method takes from the model for hyper-parameters left unset (ICE's {@code top_k} and
     * {@code top_p}, from generation_config.json), by their YAML keys; empty for most methods.
     */
    default java.util.Map<String, Object> modelDefaults(LanguageModel model) {
        return java.util.Map.of();
    }

    EditResult edit(LanguageModel model, List<EditRequest> requests, EditProgress progress);

    /**
     * The edit as one of a sequence on this model: {@code earlier} holds the keys the sequence's installed edits
     * wrote (read, never changed). Methods that use them (AlphaEdit; ICE, FT-M and FT-L with
     * {@code null_space_edited_keys}) override this; the others edit as {@link #edit(LanguageModel, List,
     * EditProgress)} does.
     */
    default EditResult edit(LanguageModel model, List<EditRequest> requests, EditProgress progress,
            EditedKeys earlier) {
        return edit(model, requests, progress);
    }

    /**
     * Refuses, before any work, what {@link #edit} would refuse when it starts: a request without the subject a
     * locate-then-edit method needs, a layer the model lacks. Cheap; the server calls it when a job is submitted, so
     * that a job that cannot run is refused at once rather than failing in the queue.
     */
    default void check(LanguageModel model, List<EditRequest> requests) {}
}
