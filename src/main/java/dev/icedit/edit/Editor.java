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
}
