// npm test: the client against the real broker (server/target/sluice.jar, or $SLUICE_JAR), in Node.js over each
// transport, and in headless Chromium (playwright-core, /usr/bin/chromium or $CHROMIUM) behind a proxy that
// refuses WebSocket upgrades, then SSE, then allows WebSocket again. Every step is bounded in time. Without
// Chromium the browser part is skipped with a message, unless $SLUICE_REQUIRE_ALL_CLIENTS is true.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { SluiceClient, backoffDelay, matches } from '../src/index.js';
import { startBroker } from './broker.mjs';
import { startProxy } from './proxy.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const results = [];

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  })]).finally(() => clearTimeout(timer));
}

async function check(name, fn, ms = 30000) {
  const start = Date.now();
  try {
    await withTimeout(Promise.resolve().then(fn), ms, name);
    results.push([name, true]);
    console.log(`ok   ${name} (${Date.now() - start} ms)`);
  } catch (e) {
    results.push([name, false]);
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}

/** Resolves with the first value `emitter` gives for `type` that satisfies `test`. */
function once(client, type, test = () => true) {
  return new Promise((resolve) => {
    const fn = (v) => {
      if (test(v)) {
        client.off(type, fn);
        resolve(v);
      }
    };
    client.on(type, fn);
  });
}

function inbox() {
  const got = [];
  const waiters = [];
  return {
    got,
    push(m) {
      got.push(m);
      waiters.splice(0).forEach((w) => w());
    },
    async until(n) {
      while (got.length < n) await new Promise((r) => waiters.push(r));
    },
  };
}

await check('backoff: full jitter between 0 and min(cap, base * 2^attempt)', () => {
  const b = { base: 500, cap: 30000 };
  for (let n = 0; n < 12; n++) {
    const ceiling = Math.min(30000, 500 * 2 ** n);
    assert.equal(backoffDelay(n, b, () => 0), 0);
    assert.equal(backoffDelay(n, b, () => 0.999999), ceiling - 1);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(n, b);
      assert.ok(d >= 0 && d < ceiling, `attempt ${n}: ${d}`);
    }
  }
});

await check('filters: MQTT matching rules', () => {
  const table = [['a/+/c', 'a/b/c', true], ['a/+', 'a/b/c', false], ['a/#', 'a', true], ['a/#', 'a/b/c', true],
    ['#', '$SYS/x', false], ['+/x', '$SYS/x', false], ['$SYS/#', '$SYS/x', true], ['a/b', 'a/b', true],
    ['a/b', 'a/bc', false], ['+', 'a', true], ['+', 'a/b', false], ['a/+/#', 'a/b', true]];
  for (const [f, t, want] of table) assert.equal(matches(f, t), want, `${f} ${t}`);
});

const broker = await startBroker(['--sse-retry', '300ms', '--poll-timeout', '1s']);
const mqttClient = await mqtt.connectAsync(broker.mqtt, { clientId: 'npm-test-peer' });

async function roundTrip(transports, topic) {
  const client = new SluiceClient(broker.http, { transports });
  const box = inbox();
  client.subscribe(`${topic}/#`, (m) => box.push(m));
  const transport = await once(client, 'transport');
  assert.equal(transport, transports[0]);
  // an MQTT publisher reaches the client, and the client's publish reaches an MQTT subscriber
  const peerGot = new Promise((resolve) => mqttClient.on('message', (t, p) => t === `${topic}/out` && resolve(String(p))));
  await mqttClient.subscribeAsync(`${topic}/out`, { qos: 1 });
  await mqttClient.publishAsync(`${topic}/in`, 'from mqtt', { qos: 1 });
  await box.until(1);
  assert.equal(box.got[0].text, 'from mqtt');
  assert.equal(box.got[0].topic, `${topic}/in`);
  await client.publish(`${topic}/out`, 'from the client', { qos: 1 });
  assert.equal(await peerGot, 'from the client');
  client.close();
}

await check('node: MQTT over WebSocket', () => roundTrip(['websocket', 'sse', 'poll'], 'node/ws'));
await check('node: Server-Sent Events + POST /publish', () => roundTrip(['sse', 'poll'], 'node/sse'));
await check('node: long-polling + POST /publish', () => roundTrip(['poll'], 'node/poll'));

/** The broker's counter of messages sent as deltas, for one protocol. */
async function deltasSent(protocol) {
  const text = await (await fetch(`${broker.http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`sluice_delta_messages_total{protocol="${protocol}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

for (const [transport, protocol] of [['websocket', 'mqtt'], ['sse', 'sse']]) {
  await check(`node: deltas over ${transport} decoded transparently`, async () => {
    const doc = (n) => JSON.stringify({ n, rows: Array.from({ length: 40 }, (_, i) => ({ id: i, price: i === n % 40 ? n : 100 + i, name: `row ${i}` })) });
    const client = new SluiceClient(broker.http, { transports: [transport] });
    const box = inbox();
    client.subscribe(`delta/${transport}/#`, (m) => box.push(m));
    await once(client, 'transport');
    const before = await deltasSent(protocol);
    for (let n = 0; n < 6; n++) {
      await mqttClient.publishAsync(`delta/${transport}/doc`, doc(n), { qos: 1 });
      await box.until(n + 1);
    }
    assert.deepEqual(box.got.map((m) => m.text), Array.from({ length: 6 }, (_, n) => doc(n)));
    assert.ok(box.got.every((m) => !m.properties?.userProperties?.['sluice-delta']), 'no delta marker reaches the caller');
    assert.equal(await deltasSent(protocol) - before, 5, 'all but the first document travelled as deltas');
    client.close();
  });
}

await check('node: a broker that is down: every transport tried, then backoff with jitter, attempts counted', async () => {
  const client = new SluiceClient('http://127.0.0.1:9', { backoff: { base: 50, cap: 400 } });
  client.on('error', () => {});
  client.subscribe('any', () => {});
  const delays = [];
  await new Promise((resolve) => client.on('reconnecting', (r) => {
    delays.push(r);
    if (delays.length === 4) resolve();
  }));
  client.close();
  assert.deepEqual(delays.map((d) => d.attempt), [1, 2, 3, 4]);
  delays.forEach((d, i) => assert.ok(d.delay >= 0 && d.delay < Math.min(400, 50 * 2 ** i), JSON.stringify(d)));
});

await check('node: a broker restart: backoff with jitter, then the persistent session delivers what was queued at QoS 1', async () => {
  const restarting = await startBroker();
  try {
    const client = new SluiceClient(restarting.http, { transports: ['websocket'], backoff: { base: 100, cap: 800 } });
    client.on('error', () => {});
    const box = inbox();
    client.subscribe('restart/#', (m) => box.push(m));
    await once(client, 'transport');
    const waits = [];
    client.on('reconnecting', (r) => waits.push(r));
    await restarting.restart();
    // published at QoS 1 while the client is still away: its session holds them, in the store
    const peer = await mqtt.connectAsync(restarting.mqtt, { clientId: 'restart-peer' });
    for (let i = 0; i < 20; i++) await peer.publishAsync('restart/x', `q${i}`, { qos: 1 });
    await peer.endAsync();
    await box.until(20);
    assert.deepEqual(box.got.map((m) => m.text), Array.from({ length: 20 }, (_, i) => `q${i}`));
    assert.ok(waits.length >= 1, 'the client backed off at least once');
    waits.forEach((w) => assert.ok(w.delay >= 0 && w.delay < Math.min(800, 100 * 2 ** (w.attempt - 1)), JSON.stringify(w)));
    client.close();
  } finally {
    await restarting.stop();
  }
}, 90000);

async function browser() {
  if (!existsSync(CHROMIUM)) {
    const why = `no Chromium at ${CHROMIUM} (Debian: apt-get install chromium)`;
    if (process.env.SLUICE_REQUIRE_ALL_CLIENTS === 'true') throw new Error(why);
    console.log(`skip browser checks: ${why}`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const dist = fileURLToPath(new URL('../dist/', import.meta.url));
  const proxy = await startProxy(broker.httpPort, {
    '/index.html': ['text/html; charset=utf-8', fileURLToPath(new URL('./page.html', import.meta.url))],
    '/sluice-client.js': ['text/javascript; charset=utf-8', join(dist, 'sluice-client.js')],
  });
  const userDataDir = mkdtempSync(join(tmpdir(), 'sluice-client-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${proxy.url}/index.html`);
    const until = async (fn, arg, what) => {
      await withTimeout((async () => {
        while (!(await page.evaluate(fn, arg))) await new Promise((r) => setTimeout(r, 50));
      })(), 20000, `${what}; page state ${await page.evaluate(() => JSON.stringify(window.state))} ${problems}`);
    };
    const publish = (topic, payload) => mqttClient.publishAsync(topic, payload, { qos: 1 });

    await check('chromium: WebSocket upgrades refused: the client falls back to SSE', async () => {
      proxy.state.refuseWebSocket = true;
      await page.evaluate(() => window.start('web/#'));
      await until(() => window.state.transports.includes('sse'), null, 'transport sse');
      await publish('web/1', 'one');
      await until(() => window.state.messages.length === 1, null, 'web/1 over SSE');
    });
    await check('chromium: SSE refused too: long-polling, from the position SSE reached', async () => {
      proxy.state.refuseSse = true;
      proxy.cut();
      await publish('web/2', 'two'); // published while the client is between transports: the position carries it
      await until(() => window.state.transports.includes('poll'), null, 'transport poll');
      await until(() => window.state.messages.length === 2, null, 'web/2 over long-polling');
      await publish('web/3', 'three');
      await until(() => window.state.messages.length === 3, null, 'web/3 over long-polling');
    });
    await check('chromium: WebSocket allowed again: the client goes back to it', async () => {
      proxy.state.refuseWebSocket = false;
      proxy.state.refuseSse = false;
      await until(() => window.state.transports.at(-1) === 'websocket', null, 'transport websocket again');
      await publish('web/4', 'four');
      await until(() => window.state.messages.length === 4, null, 'web/4 over WebSocket');
      await page.evaluate(() => window.client.publish('web/5', 'from the page', { qos: 1 }));
      await until(() => window.state.messages.length === 5, null, 'the page\'s own publish');
      const state = await page.evaluate(() => window.state);
      assert.deepEqual(state.messages.map((m) => m.text), ['one', 'two', 'three', 'four', 'from the page']);
      assert.deepEqual(state.messages.map((m) => m.transport), ['sse', 'poll', 'poll', 'websocket', 'websocket']);
      assert.deepEqual(state.transports, ['sse', 'poll', 'websocket']);
    });
  } finally {
    await context.close().catch(() => {});
    proxy.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

await check('chromium: the client in a browser, falling back and back', browser, 120000);

await mqttClient.endAsync();
await broker.stop();
const failed = results.filter(([, ok]) => !ok);
console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
