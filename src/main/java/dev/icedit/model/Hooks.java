package dev.icedit.model;

import ai.djl.ndarray.NDArray;
import java.util.HashMap;
import java.util.Map;

/** The hooks of one forward pass, by site. Empty hooks cost nothing. */
public final class Hooks {
    public static final Hooks NONE = new Hooks(Map.of());

    private final Map<ActivationSite, ActivationHook> bySite;

    private Hooks(Map<ActivationSite, ActivationHook> bySite) {
        this.bySite = bySite;
    }

    public static Hooks of(ActivationSite site, ActivationHook hook) {
        return new Hooks(Map.of(site, hook));
    }

    public Hooks and(ActivationSite site, ActivationHook hook) {
        Map<ActivationSite, ActivationHook> m = new HashMap<>(bySite);
        m.merge(site, hook, (a, b) -> (s, x) -> b.apply(s, a.apply(s, x)));
        return new Hooks(m);
    }

    public boolean isEmpty() {
        return bySite.isEmpty();
    }

    NDArray at(int layer, ActivationSite.Kind kind, NDArray x) {
        if (bySite.isEmpty()) {
            return x;
        }
        ActivationSite site = new ActivationSite(layer, kind);
        ActivationHook h = bySite.get(site);
        return h == null ? x : h.apply(site, x);
    }
}
