// @stomp/stompjs 7 feature checks with one STOMP version, over WebSocket (the ws package, the version's
// subprotocol) or over TCP (@stomp/tcp-wrapper).
// Argument: {"version": "1.2", "url": "ws://.../stomp" | "tcpPort": 61613, "mqttUrl": "mqtt://...", "features": [...]}.
import { Client, Versions } from '@stomp/stompjs';
import { TCPWrapper } from '@stomp/tcp-wrapper';
import WebSocket from 'ws';
import mqtt from 'mqtt';
import { assert, Inbox, parseArgs, runChecks, unique, withTimeout } from './checks.mjs';

const args = parseArgs();
const VERSION = args.version;
const SUBPROTOCOL = `v${VERSION.replace('.', '')}.stomp`;
const TCP_PORT = args.tcpPort;
const STEP_MS = 15000;
const prefix = unique(`stompjs-${TCP_PORT ? 'tcp' : 'ws'}-${VERSION.replace('.', '')}`);
const transport = () => (TCP_PORT ? new TCPWrapper('127.0.0.1', TCP_PORT) : new WebSocket(args.url, [SUBPROTOCOL]));

function open(extra = {}) {
  let failed;
  const client = new Client({
    webSocketFactory: transport,
    stompVersions: new Versions([VERSION]),
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
    ...extra,
  });
  const closes = [];
  const errors = [];
  client.onWebSocketClose = (e) => { closes.push(e.code); if (failed) failed(new Error(`WebSocket closed ${e.code}`)); };
  client.onStompError = (f) => { errors.push(f); if (failed) failed(new Error(`ERROR ${f.headers.message}`)); };
  return withTimeout(new Promise((resolve, reject) => {
    failed = reject;
    client.onConnect = (connected) => { failed = null; resolve({ client, connected, closes, errors }); };
    client.activate();
  }), STEP_MS, 'CONNECTED');
}

function subscribe(c, destination, headers = {}) {
  const inbox = new Inbox();
  const receipt = unique('r');
  const done = new Promise((resolve) => c.client.watchForReceipt(receipt, resolve));
  const sub = c.client.subscribe(destination, (m) => inbox.push(m), { ...headers, receipt });
  return withTimeout(done, STEP_MS, `RECEIPT for SUBSCRIBE ${destination}`).then(() => ({ inbox, sub }));
}

function send(c, destination, body, headers = {}) {
  const receipt = unique('s');
  const done = new Promise((resolve) => c.client.watchForReceipt(receipt, resolve));
  c.client.publish({ destination, body, headers: { ...headers, receipt } });
  return withTimeout(done, STEP_MS, `RECEIPT for SEND to ${destination}`);
}

async function expect(inbox, body, what) {
  const m = await inbox.next(STEP_MS, what);
  assert(m.body === body, `expected "${body}" (${what}), got "${m.body}" from ${m.headers.destination}`);
  return m;
}

const close = (c) => withTimeout(c.client.deactivate(), STEP_MS, 'DISCONNECT');

function openMqtt() {
  const client = mqtt.connect(args.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: STEP_MS });
  const inbox = new Inbox();
  client.on('message', (topic, payload, packet) => inbox.push({ topic, body: payload.toString(), retain: packet.retain }));
  client.on('error', () => {});
  return withTimeout(new Promise((resolve, reject) => {
    client.once('connect', () => resolve({ client, inbox }));
    client.once('error', reject);
  }), STEP_MS, 'MQTT CONNACK');
}

const checks = {
  'connect-clean': async () => {
    const c = await open();
    if (!TCP_PORT) {
      const ws = c.client.webSocket;
      assert(ws.protocol === SUBPROTOCOL, `negotiated subprotocol "${ws.protocol}", offered ${SUBPROTOCOL}`);
    }
    const version = c.connected.headers.version;
    assert(version === VERSION || (VERSION === '1.0' && version === undefined),
      `CONNECTED version ${version} on ${SUBPROTOCOL}`);
    await close(c);
    return `CONNECTED version ${version || '(none: 1.0)'} over ${TCP_PORT ? 'TCP' : SUBPROTOCOL}`;
  },

  wildcard: async () => {
    const c = await open();
    const { inbox } = await subscribe(c, `/topic/${prefix}/+/temp`);
    const deep = await subscribe(c, `/topic/${prefix}/all/#`);
    await send(c, `/topic/${prefix}/k1/humidity`, 'no');
    await send(c, `/topic/${prefix}/k1/temp`, '21');
    const m = await expect(inbox, '21', '+ match');
    assert(m.headers.destination === `/topic/${prefix}/k1/temp`, `destination ${m.headers.destination}`);
    await send(c, `/topic/${prefix}/all/a/b`, 'deep');
    await expect(deep.inbox, 'deep', '# match');
    await close(c);
    return '+ and # filters in /topic/ destinations';
  },

  qos0: async () => {
    const c = await open();
    const { inbox } = await subscribe(c, `/topic/${prefix}/auto`, { ack: 'auto' });
    await send(c, `/topic/${prefix}/auto`, 'auto ack');
    await expect(inbox, 'auto ack', 'ack:auto subscription');
    await close(c);
    return 'SEND with receipt, MESSAGE on an ack:auto subscription';
  },

  qos1: async () => {
    const c = await open();
    const mode = VERSION === '1.0' ? 'client' : 'client-individual';
    const { inbox } = await subscribe(c, `/topic/${prefix}/acked`, { ack: mode });
    await send(c, `/topic/${prefix}/acked`, 'one');
    await send(c, `/topic/${prefix}/acked`, 'two');
    const one = await expect(inbox, 'one', `ack:${mode}`);
    one.ack();
    const two = await expect(inbox, 'two', `ack:${mode}`);
    two.ack({ receipt: 'acked-two' });
    await withTimeout(new Promise((resolve) => c.client.watchForReceipt('acked-two', resolve)), STEP_MS, 'RECEIPT for ACK');
    await close(c);
    return `ack:${mode} subscription, messages ACKed`;
  },

  retained: async () => {
    const m = await openMqtt();
    await m.client.publishAsync(`${prefix}/retained`, 'kept', { qos: 1, retain: true });
    const c = await open();
    const { inbox } = await subscribe(c, `/topic/${prefix}/retained`);
    await expect(inbox, 'kept', 'retained MQTT message on a new STOMP subscription');
    await m.client.publishAsync(`${prefix}/retained`, '', { qos: 1, retain: true });
    await close(c);
    await m.client.endAsync();
    return 'retained MQTT message delivered to a new /topic subscriber';
  },

  'session-resume': async () => {
    const c = await open();
    const queue = `/queue/${prefix}-held`;
    for (let i = 1; i <= 3; i++) await send(c, queue, `held ${i}`);
    await close(c);
    const later = await open();
    const { inbox } = await subscribe(later, queue, { ack: VERSION === '1.0' ? 'client' : 'client-individual' });
    for (let i = 1; i <= 3; i++) (await expect(inbox, `held ${i}`, 'message held by a /queue without consumers')).ack();
    await close(later);
    return '3 messages sent to a /queue with no consumer delivered to a later subscriber';
  },

  'cross-protocol': async () => {
    const m = await openMqtt();
    const c = await open();
    const { inbox } = await subscribe(c, `/topic/${prefix}/x/#`);
    await m.client.publishAsync(`${prefix}/x/1`, 'mqtt to stomp', { qos: 1 });
    await expect(inbox, 'mqtt to stomp', 'MQTT publish on a STOMP /topic subscription');
    await m.client.subscribeAsync(`${prefix}/y/+`, { qos: 1 });
    await send(c, `/topic/${prefix}/y/2`, 'stomp to mqtt');
    const got = await m.inbox.next(STEP_MS, 'STOMP SEND on an MQTT subscription');
    assert(got.topic === `${prefix}/y/2` && got.body === 'stomp to mqtt', `MQTT got ${JSON.stringify(got)}`);
    await close(c);
    await m.client.endAsync();
    return 'MQTT to STOMP /topic and STOMP /topic to MQTT';
  },

  keepalive: async () => {
    const c = await open({ heartbeatIncoming: 1000, heartbeatOutgoing: 1000 });
    const hb = c.connected.headers['heart-beat'];
    assert(hb && hb !== '0,0', `CONNECTED heart-beat ${hb}`);
    await new Promise((resolve) => setTimeout(resolve, 3500)); // several heart-beat periods both ways
    assert(c.closes.length === 0 && c.client.connected, 'connection dropped while heart-beating');
    const { inbox } = await subscribe(c, `/topic/${prefix}/alive`);
    await send(c, `/topic/${prefix}/alive`, 'still here');
    await expect(inbox, 'still here', 'after heart-beats');
    await close(c);
    return `heart-beat ${hb} negotiated, connection alive after 3.5 s`;
  },

  'bad-input': async () => {
    const c = await open();
    const error = new Promise((resolve) => { c.client.onStompError = resolve; });
    c.client.publish({ destination: '/nowhere/at/all', body: 'bad destination' });
    const frame = await withTimeout(error, STEP_MS, 'ERROR frame for an invalid destination');
    assert(frame.headers.message, 'ERROR frame without a message header');
    await close(c);
    const after = await open();
    await close(after);
    return `ERROR "${frame.headers.message}"; new connections still accepted`;
  },
};

await runChecks(args.features, checks);
process.exit(0);
