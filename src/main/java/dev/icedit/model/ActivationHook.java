package dev.icedit.model;

import ai.djl.ndarray.NDArray;

/**
 * Called by the forward pass at an {@link ActivationSite} with the activation there (B, T, D); returns the
 * activation to continue with: the same array to only read it, or a new one to replace it. Gradients flow through
 * whatever it returns. An array the hook keeps beyond the call must be taken out of the pass's scope with
 * {@code NDScope.unregister} and closed by the hook's owner.
 */
@FunctionalInterface
public interface ActivationHook {
    NDArray apply(ActivationSite site, NDArray activation);
}
