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

    EditResult edit(LanguageModel model, List<EditRequest> requests, EditProgress progress);

    /**
     * Refuses, before any work, what {@link #edit} would refuse when it starts: a request without the subject a
     * locate-then-edit method needs, a layer the model lacks. Cheap; the server calls it when a job is submitted, so
     * that a job that cannot run is refused at once rather than failing in the queue.
     */
    default void check(LanguageModel model, List<EditRequest> requests) {}
}
