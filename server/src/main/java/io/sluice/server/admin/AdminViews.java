package io.sluice.server.admin;

import java.util.List;
import java.util.Map;

/** What the admin API answers, as JSON (field names are the API's; docs/admin-api.yaml describes each). */
final class AdminViews {
    private AdminViews() {
    }

    record Listener(String name, String host, int port) {
    }

    record Summary(String version, String startedAt, long uptimeSeconds, List<Listener> listeners,
                   Map<String, Long> counts, Map<String, Map<String, Long>> connectionsByProtocol) {
    }

    record SessionRef(String id, boolean persistent, Long expirySeconds) {
    }

    record SubscriptionView(String clientId, String filter, String shareGroup, int qos, boolean noLocal,
                            boolean retainAsPublished, int retainHandling, Integer subscriptionId) {
    }

    record Connection(long id, String clientId, String protocol, String transport, String subprotocol, String path,
                      String address, String connectedAt, long bytesIn, long bytesOut, long messagesIn,
                      long messagesOut, boolean pausedByBackpressure,
                      List<SessionRef> sessions, int subscriptionCount, long queued, long queuedBytes, long inflight,
                      long window, List<SubscriptionView> subscriptions) {
    }

    /**
     * @param namespace           the protocol whose session it is (mqtt, stomp, sse, poll)
     * @param droppedWhileOffline messages its full queue could not take while it was offline, over its life
     * @param overflowing         offline with a full queue now, dropping what comes for it
     */
    record Session(String clientId, boolean online, boolean persistent, Long expirySeconds, int subscriptions,
                   long queued, long queuedBytes, long queuedQos0, long inflight, String namespace,
                   long droppedWhileOffline, boolean overflowing) {
    }

    record Retained(String topic, int qos, int size, String payload, String payloadBase64, boolean truncated,
                    String publisherId, Long expiresInSeconds) {
    }

    record TopicNode(String name, String path, long messages, double perSecond, boolean hasChildren,
                     Retained retained) {
    }

    record Topics(String path, long messages, double perSecond, long otherTopicMessages, Retained retained,
                  List<TopicNode> children) {
    }

    record Setting(String name, String value, String defaultValue, boolean masked, String help) {
    }

    record Page<T>(List<T> items, String nextCursor) {
    }

    record Problem(int status, String error) {
    }
}
