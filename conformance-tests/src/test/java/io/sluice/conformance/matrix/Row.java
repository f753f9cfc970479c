package io.sluice.conformance.matrix;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * One row of the matrix: a client over one transport (and protocol version). {@code features} are the checks
 * this client runs; {@code needs} is what the broker must offer for the row at all; {@code featureNeeds} adds
 * what single features need beyond that (cross-protocol checks need STOMP, for instance).
 */
public record Row(String id, String client, String transport, Set<Capability> needs, Set<Feature> features,
                  Map<Feature, Set<Capability>> featureNeeds) {

    public boolean applies(Feature f) {
        return features.contains(f);
    }

    /** The capabilities a cell needs that main does not offer yet; empty when the cell is built. */
    public Set<Capability> missing(Feature f) {
        Set<Capability> missing = EnumSet.noneOf(Capability.class);
        missing.addAll(needs);
        missing.addAll(featureNeeds.getOrDefault(f, Set.of()));
        missing.removeAll(Capability.BUILT);
        return missing;
    }

    @Override
    public String toString() {
        return client + " / " + transport;
    }
}
