package io.sluice.server.cluster;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.KeyValue;
import io.nats.client.KeyValueManagement;
import io.nats.client.api.DiscardPolicy;
import io.nats.client.api.KeyValueConfiguration;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;

import java.io.IOException;
import java.time.Duration;

/**
 * The one way the cluster makes its JetStream streams and key-value buckets: created by the first node, brought up to
 * date by each node that starts (its settings win: give every node the same), file storage, {@code replicas} copies.
 */
final class JetStreamSetup {
    /** How long JetStream remembers a message id: a send that goes out again within it is stored once. */
    static final Duration DUPLICATE_WINDOW = Duration.ofMinutes(2);

    private JetStreamSetup() {
    }

    /**
     * A work-queue stream on {@code subjects} (a message leaves it once acknowledged), at most {@code maxPerSubject}
     * messages per subject: past it a publish is refused (discard new per subject), which is how a slow node or
     * session holds its publishers, losslessly.
     */
    static void ensureStream(JetStreamManagement jsm, String name, String subjects, int replicas, int maxPerSubject)
            throws IOException, JetStreamApiException {
        StreamConfiguration config = StreamConfiguration.builder()
                .name(name)
                .subjects(subjects)
                .retentionPolicy(RetentionPolicy.WorkQueue)
                .storageType(StorageType.File)
                .replicas(replicas)
                .maxMessagesPerSubject(maxPerSubject)
                .discardPolicy(DiscardPolicy.New)
                .discardNewPerSubject(true)
                .duplicateWindow(DUPLICATE_WINDOW)
                .build();
        try {
            jsm.addStream(config);
        } catch (JetStreamApiException e) {
            jsm.updateStream(config); // it exists: this node's settings apply
        }
    }

    /** A key-value bucket keeping the latest value per key. */
    static KeyValue ensureBucket(Connection nats, String name, int replicas) throws IOException, JetStreamApiException {
        KeyValueManagement kvm = nats.keyValueManagement();
        KeyValueConfiguration config = KeyValueConfiguration.builder().name(name).maxHistoryPerKey(1)
                .storageType(StorageType.File).replicas(replicas).build();
        try {
            kvm.create(config);
        } catch (JetStreamApiException e) {
            kvm.update(config);
        }
        return nats.keyValue(name);
    }
}
