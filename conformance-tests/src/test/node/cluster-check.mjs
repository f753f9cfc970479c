// Two nodes of a Sluice cluster (on one nats-server with JetStream): MQTT.js on node 1 and stomp.js on node 2
// exchange messages both ways, through the cluster. A route reaches the other node a moment after a SUBSCRIBE, so
// each direction first repeats a probe until one arrives, then sends its numbered messages, which must all arrive,
// once, in order.
// Argument: {"mqttUrl": "mqtt://127.0.0.1:<node 1>", "stompUrl": "ws://127.0.0.1:<node 2>/stomp"}.
import mqtt from 'mqtt';
import { Client, Versions } from '@stomp/stompjs';
import WebSocket from 'ws';
import { assert, Inbox, parseArgs, runChecks, unique, withTimeout } from './checks.mjs';

const args = parseArgs();
const N = 20;
const STEP_MS = 15000;

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, resolve));
}

async function mqttClient() {
  const client = mqtt.connect(args.mqttUrl, { clientId: unique('cluster-js'), protocolVersion: 5, reconnectPeriod: 0 });
  await withTimeout(once(client, 'connect'), STEP_MS, 'MQTT.js connecting to node 1');
  return client;
}

function stompClient() {
  const client = new Client({
    webSocketFactory: () => new WebSocket(args.stompUrl, ['v12.stomp']),
    stompVersions: new Versions(['1.2']),
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
  });
  return withTimeout(new Promise((resolve, reject) => {
    client.onConnect = () => resolve(client);
    client.onStompError = (f) => reject(new Error(`ERROR ${f.headers.message}`));
    client.activate();
  }), STEP_MS, 'stomp.js connecting to node 2');
}

/** Send probes until one arrives (the route is in place), then the numbered messages; returns them as received. */
async function exchange(send, inbox, tag) {
  const deadline = Date.now() + STEP_MS;
  let routed = false;
  while (!routed) {
    assert(Date.now() < deadline, `no ${tag} probe arrived within ${STEP_MS} ms: the route never reached the other node`);
    await send('probe');
    try {
      while (!routed) {
        routed = (await inbox.next(200, 'a probe')).startsWith('probe');
      }
    } catch (e) {
      // not yet: probe again
    }
  }
  for (let i = 0; i < N; i++) {
    await send(`${tag}-${i}`);
  }
  const got = [];
  while (got.length < N) {
    const body = await inbox.next(STEP_MS, `${tag} message ${got.length} of ${N}`);
    if (!body.startsWith('probe')) {
      got.push(body);
    }
  }
  const expected = Array.from({ length: N }, (_, i) => `${tag}-${i}`);
  assert(JSON.stringify(got) === JSON.stringify(expected), `got ${JSON.stringify(got)}`);
  return `${N} messages in order`;
}

await runChecks(['mqtt-to-stomp', 'stomp-to-mqtt'], {
  'mqtt-to-stomp': async () => {
    const stomp = await stompClient();
    const inbox = new Inbox();
    const topic = unique('xnode-to-stomp');
    stomp.subscribe(`/topic/${topic}`, (m) => {
      assert(m.headers.destination === `/topic/${topic}`, `destination ${m.headers.destination}`);
      inbox.push(m.body);
    });
    const client = await mqttClient();
    try {
      return await exchange((body) => client.publishAsync(topic, body, { qos: 1 }), inbox, 'mqtt');
    } finally {
      client.end(true);
      await stomp.deactivate();
    }
  },
  'stomp-to-mqtt': async () => {
    const client = await mqttClient();
    const inbox = new Inbox();
    const topic = unique('xnode-to-mqtt');
    client.on('message', (t, payload) => inbox.push(payload.toString()));
    await client.subscribeAsync(topic, { qos: 1 });
    const stomp = await stompClient();
    let receipts = 0;
    const send = (body) => withTimeout(new Promise((resolve) => {
      const receipt = `r-${receipts++}`;
      stomp.watchForReceipt(receipt, resolve);
      stomp.publish({ destination: `/topic/${topic}`, body, headers: { receipt } });
    }), STEP_MS, 'a RECEIPT from node 2');
    try {
      return await exchange(send, inbox, 'stomp');
    } finally {
      client.end(true);
      await stomp.deactivate();
    }
  },
}, 60000);
