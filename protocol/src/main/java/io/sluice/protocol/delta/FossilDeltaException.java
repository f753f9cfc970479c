package io.sluice.protocol.delta;

/** A Fossil delta that cannot be applied: malformed, for another source, or failing its checksum. */
public final class FossilDeltaException extends IllegalArgumentException {
    public FossilDeltaException(String message) {
        super(message);
    }
}
