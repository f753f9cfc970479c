// The MQTT feature checks of the compatibility matrix, written once for MQTT.js wherever it runs: on Node
// (mqtt-checks.mjs) and in the browser page (bundled by esbuild). The STOMP side of the cross-protocol check is
// stomp.js over a WebSocket the caller makes (the ws package on Node, the browser's own WebSocket).
import { assert, Inbox, unique, withTimeout } from './util.js';

/**
 * @param env.mqtt         the MQTT.js module
 * @param env.StompClient  stomp.js's Client class
 * @param env.stompSocket  () => a WebSocket to the broker's STOMP endpoint (subprotocol v12.stomp)
 * @param env.url          the broker's MQTT URL (mqtt:// or ws://)
 * @param env.version      MQTT protocol version: 3 (3.1), 4 (3.1.1) or 5
 * @param env.label        a name for topics and client ids
 */
export function mqttChecks({ mqtt, StompClient, stompSocket, url, version, label }) {
  const V = version;
  const STEP_MS = 15000;
  const prefix = unique(`${label}-v${V}`);

  function open(extra = {}) {
    const options = {
      protocolVersion: V,
      protocolId: V === 3 ? 'MQIsdp' : 'MQTT',
      reconnectPeriod: 0,
      connectTimeout: STEP_MS,
      keepalive: 30,
      clean: true,
      ...extra,
    };
    if (V === 5 && options.clean === false) {
      options.properties = { sessionExpiryInterval: 300, ...(options.properties || {}) };
    }
    const client = mqtt.connect(url, options);
    const inbox = new Inbox();
    const closes = [];
    client.on('message', (topic, payload, packet) =>
      inbox.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain }));
    client.on('close', () => closes.push(Date.now()));
    client.on('error', () => {});
    return withTimeout(new Promise((resolve, reject) => {
      client.once('connect', (connack) => resolve({ client, connack, inbox, closes }));
      client.once('error', reject);
      client.once('close', () => reject(new Error('connection closed before CONNACK')));
    }), STEP_MS, 'CONNACK');
  }

  const end = (c) => withTimeout(c.client.endAsync(), STEP_MS, 'DISCONNECT');
  const sub = (c, filter, qos) => withTimeout(c.client.subscribeAsync(filter, { qos }), STEP_MS, `SUBACK for ${filter}`)
    .then((granted) => {
      assert(granted[0].qos === qos, `SUBACK granted ${JSON.stringify(granted)} for ${filter}, asked QoS ${qos}`);
    });
  const pub = (c, topic, payload, qos, retain = false) =>
    withTimeout(c.client.publishAsync(topic, payload, { qos, retain }), STEP_MS, `publish to ${topic} at QoS ${qos}`);
  const next = (c, what) => c.inbox.next(STEP_MS, what);

  async function expect(c, topic, payload, extra = {}) {
    const m = await next(c, `message on ${topic}`);
    assert(m.topic === topic && m.payload === payload,
      `expected ${payload} on ${topic}, got ${JSON.stringify(m)}`);
    for (const [k, v] of Object.entries(extra)) {
      assert(m[k] === v, `expected ${k}=${v} on ${topic}, got ${JSON.stringify(m)}`);
    }
    return m;
  }

  async function qos(level) {
    const s = await open();
    const p = await open();
    const topic = `${prefix}/qos${level}`;
    await sub(s, topic, level);
    await pub(p, topic, `hello at ${level}`, level);
    await expect(s, topic, `hello at ${level}`, { qos: level });
    // the other direction of the same client: the subscriber publishes, the publisher receives
    await sub(p, `${topic}/back`, level);
    await pub(s, `${topic}/back`, `back at ${level}`, level);
    await expect(p, `${topic}/back`, `back at ${level}`, { qos: level });
    await end(s);
    await end(p);
    return `published and received at QoS ${level} in both directions`;
  }

  function stompClient() {
    const client = new StompClient({
      webSocketFactory: stompSocket,
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
    });
    return withTimeout(new Promise((resolve, reject) => {
      client.onConnect = () => resolve(client);
      client.onStompError = (f) => reject(new Error(`STOMP ERROR ${f.headers.message}`));
      client.onWebSocketClose = (e) => reject(new Error(`STOMP WebSocket closed: ${e.code}`));
      client.activate();
    }), STEP_MS, 'STOMP CONNECTED');
  }

  function stompSubscribe(client, destination, onMessage) {
    const receipt = unique('sub');
    const done = new Promise((resolve) => client.watchForReceipt(receipt, resolve));
    client.subscribe(destination, onMessage, { receipt });
    return withTimeout(done, STEP_MS, `RECEIPT for SUBSCRIBE ${destination}`);
  }

  return {
    'connect-clean': async () => {
      const c = await open({ clean: true });
      assert(!c.connack.sessionPresent, 'session present on a clean connect');
      if (V === 5) {
        assert(c.connack.reasonCode === 0, `CONNACK reason ${c.connack.reasonCode}`);
      }
      await end(c);
      return 'CONNACK accepted, session present 0';
    },

    'connect-persistent': async () => {
      const clientId = unique('persist');
      const first = await open({ clean: false, clientId });
      assert(!first.connack.sessionPresent, 'session present on the first connect of a new client id');
      await end(first);
      const second = await open({ clean: false, clientId });
      assert(second.connack.sessionPresent, 'session present 0 when resuming a persistent session');
      await end(second);
      await end(await open({ clean: true, clientId }));
      return 'session present 0 then 1';
    },

    wildcard: async () => {
      const s = await open();
      const p = await open();
      await sub(s, `${prefix}/+/temp`, 1);
      await sub(s, `${prefix}/all/#`, 1);
      await pub(p, `${prefix}/k1/humidity`, 'no', 1);
      await pub(p, `${prefix}/k1/temp`, '21', 1);
      await expect(s, `${prefix}/k1/temp`, '21');
      await pub(p, `${prefix}/k1/temp/deeper`, 'no', 1);
      await pub(p, `${prefix}/all/a/b/c`, 'deep', 1);
      await expect(s, `${prefix}/all/a/b/c`, 'deep');
      await end(s);
      await end(p);
      return '+ and # matched, non-matching topics not delivered';
    },

    qos0: () => qos(0),
    qos1: () => qos(1),
    qos2: () => qos(2),

    retained: async () => {
      const topic = `${prefix}/retained`;
      const p = await open();
      await pub(p, topic, 'kept', 1, true);
      const s1 = await open();
      await sub(s1, topic, 1);
      await expect(s1, topic, 'kept', { retain: true });
      await pub(p, topic, '', 1, true);
      const s2 = await open();
      await sub(s2, topic, 1);
      await pub(p, topic, 'live', 1);
      await expect(s2, topic, 'live', { retain: false });
      for (const c of [p, s1, s2]) await end(c);
      return 'retained delivered with the retain flag; cleared by an empty payload';
    },

    will: async () => {
      const topic = `${prefix}/will`;
      const watcher = await open();
      await sub(watcher, topic, 1);
      const polite = await open({ will: { topic, payload: 'polite', qos: 1, retain: false } });
      await end(polite);
      const rude = await open({ will: { topic, payload: 'gone', qos: 1, retain: false } });
      rude.client.stream.destroy();
      await expect(watcher, topic, 'gone');
      await end(watcher);
      return 'will published on abnormal loss, not after DISCONNECT';
    },

    'session-resume': async () => {
      const clientId = unique('resume');
      const topic = `${prefix}/resume`;
      const s = await open({ clean: false, clientId });
      await sub(s, topic, 1);
      await end(s);
      const p = await open();
      for (let i = 1; i <= 3; i++) await pub(p, topic, `queued ${i}`, 1);
      const back = await open({ clean: false, clientId });
      assert(back.connack.sessionPresent, 'session present 0 on resume');
      for (let i = 1; i <= 3; i++) await expect(back, topic, `queued ${i}`, { qos: 1 });
      await end(back);
      await end(p);
      await end(await open({ clean: true, clientId }));
      return '3 QoS 1 messages queued while offline arrived in order on resume';
    },

    'cross-protocol': async () => {
      const stomp = await stompClient();
      const m = await open();
      const fromMqtt = new Inbox();
      await stompSubscribe(stomp, `/topic/${prefix}/x/#`, (f) => fromMqtt.push(f));
      const properties = V === 5 ? {
        contentType: 'text/plain', userProperties: { origin: 'mqtt' },
        responseTopic: `${prefix}/reply`, correlationData: new TextEncoder().encode('corr-1'),
      } : undefined;
      await withTimeout(m.client.publishAsync(`${prefix}/x/1`, 'mqtt to stomp', { qos: 1, properties }), STEP_MS, 'publish');
      const frame = await fromMqtt.next(STEP_MS, 'STOMP MESSAGE');
      assert(frame.body === 'mqtt to stomp', `STOMP got ${frame.body}`);
      if (V === 5) {
        const h = frame.headers;
        assert(h['content-type'] === 'text/plain' && h.origin === 'mqtt' && h['correlation-id'] === 'corr-1'
          && h['reply-to'] === `/topic/${prefix}/reply`, `MQTT 5 properties as STOMP headers: ${JSON.stringify(h)}`);
      }
      const received = new Inbox();
      m.client.on('message', (topic, payload, packet) => received.push(packet.properties || {}));
      await sub(m, `${prefix}/y/+`, 1);
      stomp.publish({
        destination: `/topic/${prefix}/y/2`, body: 'stomp to mqtt',
        headers: { 'content-type': 'application/json', origin: 'stomp', 'correlation-id': 'corr-2', 'reply-to': `/topic/${prefix}/back` },
      });
      await expect(m, `${prefix}/y/2`, 'stomp to mqtt');
      if (V === 5) {
        const p = await received.next(STEP_MS, 'properties');
        assert(p.contentType === 'application/json' && p.userProperties?.origin === 'stomp'
          && new TextDecoder().decode(p.correlationData || new Uint8Array()) === 'corr-2' && p.responseTopic === `${prefix}/back`,
          `STOMP headers as MQTT 5 properties: ${JSON.stringify(p)}`);
      }
      await stomp.deactivate();
      await end(m);
      return V === 5
        ? 'MQTT to STOMP /topic and back, content-type, user properties/headers, reply-to and correlation-id mapped both ways'
        : 'MQTT to STOMP /topic and STOMP /topic to MQTT';
    },

    keepalive: async () => {
      const c = await open({ keepalive: 2 });
      await new Promise((resolve) => setTimeout(resolve, 5000)); // keep-alive periods of PINGREQ/PINGRESP
      assert(c.closes.length === 0 && c.client.connected, 'connection dropped during keep-alive');
      await sub(c, `${prefix}/alive`, 1);
      await pub(c, `${prefix}/alive`, 'still here', 1);
      await expect(c, `${prefix}/alive`, 'still here');
      await end(c);
      return 'keep-alive 2 s: PINGREQ answered for 5 s';
    },

    'bad-input': async () => {
      // the broker runs in strict mode: this client id marks the violation as the one this check means to commit
      const c = await open({ clientId: `bad-input-${Math.random().toString(16).slice(2, 8)}` });
      const closed = new Promise((resolve) => c.client.once('close', resolve));
      const disconnects = [];
      c.client.on('disconnect', (packet) => disconnects.push(packet.reasonCode));
      c.client.publish(`${prefix}/bad/+`, 'wildcard in a topic name', { qos: 1 }, () => {});
      await withTimeout(closed, STEP_MS, 'the broker closing a connection that published to a wildcard topic');
      if (V === 5) {
        assert(disconnects.length === 0 || disconnects[0] === 0x90 || disconnects[0] === 0x82,
          `DISCONNECT reason ${disconnects[0]}`);
      }
      const after = await open();
      await end(after);
      return `PUBLISH to a wildcard topic closed the connection${disconnects.length ? ` with DISCONNECT 0x${disconnects[0].toString(16)}` : ''}; new connections still accepted`;
    },
  };
}
