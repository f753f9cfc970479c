// Headless Chromium (playwright-core, the system's Chromium) drives the broker's own web console, served by the
// broker at /, while real MQTT.js and stomp.js clients in this Node process make traffic and play the clients the
// console inspects. Argument: {"consoleUrl": "http://127.0.0.1:P/", "mqttTcp": "mqtt://...", "mqttWs": "ws://...",
// "stompWs": "ws://...", "chromium": "/usr/bin/chromium", "screenshotDir": "...", "features": [...]}.
// Prints {"results": {...}} like every script here.
import { chromium } from 'playwright-core';
import mqtt from 'mqtt';
import { Client } from '@stomp/stompjs';
import WebSocket from 'ws';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert, parseArgs, unique, withTimeout } from './checks.mjs';

const args = parseArgs();
const problems = [];

/** Polls `probe` until it returns a truthy value, at most `ms`: never a fixed sleep. */
async function until(what, probe, ms = 20000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

function connectMqtt(url, clientId, extra = {}) {
  return withTimeout(new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { clientId, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 10000, ...extra });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  }), 15000, `MQTT.js connecting ${clientId}`);
}

function connectStomp(url) {
  return withTimeout(new Promise((resolve, reject) => {
    const c = new Client({ webSocketFactory: () => new WebSocket(url, ['v12.stomp']), reconnectDelay: 0,
      heartbeatIncoming: 0, heartbeatOutgoing: 0 });
    c.onConnect = () => resolve(c);
    c.onStompError = (f) => reject(new Error(f.headers.message));
    c.activate();
  }), 15000, 'stomp.js connecting');
}

// ---- traffic for the whole run: a QoS 1 publisher over TCP, subscribers over MQTT/WebSocket and STOMP/WebSocket
const loadSub = await connectMqtt(args.mqttWs, unique('load-sub'));
await new Promise((r) => loadSub.subscribe('load/#', { qos: 1 }, r));
const stompSub = await connectStomp(args.stompWs);
stompSub.subscribe('/topic/load/#', () => {});
const loadPub = await connectMqtt(args.mqttTcp, unique('load-pub'));
let published = 0;
const MAX_LOAD = 40000;
const loadUntil = Date.now() + 120000;
const load = setInterval(() => {
  if (published >= MAX_LOAD || Date.now() > loadUntil) return;
  for (let i = 0; i < 20; i++, published++) {
    loadPub.publish(`load/sensor-${published % 8}/value`, String(published), { qos: 1 });
  }
}, 50);

const userDataDir = mkdtempSync(join(tmpdir(), 'sluice-console-'));
const context = await withTimeout(chromium.launchPersistentContext(userDataDir, {
  executablePath: args.chromium,
  headless: true,
  viewport: { width: 1440, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
}), 60000, `starting ${args.chromium}`);
const page = context.pages()[0] || await context.newPage();
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
page.on('dialog', (d) => d.accept());

async function view(hash) {
  await page.goto(`${args.consoleUrl}#/${hash}`, { timeout: 30000 });
}

async function chartLatest(title) {
  const raw = await page.locator(`figure[data-chart="${title}"]`).getAttribute('data-latest');
  return raw ? JSON.parse(raw) : {};
}

if (args.screenshotDir) mkdirSync(args.screenshotDir, { recursive: true });

/** The README's overview picture: the broker after the checks, with some seconds of load on the charts. */
async function overviewScreenshot() {
  await view('overview');
  await until('ten seconds of traffic on the chart', async () => {
    const points = Number(await page.locator('figure[data-chart="Messages per second"]').getAttribute('data-points'));
    return points >= 20 && (await chartLatest('Messages per second')).in > 0;
  }, 30000);
  await page.screenshot({ path: join(args.screenshotDir, 'console-overview.png') });
}

const checks = {
  async overviewChartsMoveWithTraffic() {
    await view('overview');
    const before = Number(await page.locator('figure[data-chart="Messages per second"]').getAttribute('data-points'));
    const moving = await until('messages in and out per second above 0 on the chart', async () => {
      const m = await chartLatest('Messages per second');
      return m.in > 0 && m.out > 0 ? m : null;
    });
    const after = Number(await page.locator('figure[data-chart="Messages per second"]').getAttribute('data-points'));
    assert(after > before || after > 1, `the chart gained points (${before} -> ${after})`);
    const connections = await until('connections by protocol and transport', async () => {
      const c = await chartLatest('Connections by protocol and transport');
      return c['mqtt/tcp'] >= 1 && c['mqtt/ws'] >= 1 && c['stomp/ws'] >= 1 ? c : null;
    });
    await until('a p99 latency on its chart', async () => (await chartLatest('p99 delivery latency')).p99 != null);
    assert(await page.locator('figure[data-chart] canvas').count() >= 4, 'every chart draws on a canvas');
    return `messages/s ${JSON.stringify(moving)}, connections ${JSON.stringify(connections)}, ${after} points`;
  },

  async clientFoundBySearchIsDisconnected() {
    const id = unique('victim');
    const victim = await connectMqtt(args.mqttWs, id);
    const told = new Promise((resolve) => victim.on('disconnect', (p) => resolve(p.reasonCode)));
    await view('clients');
    await page.getByLabel('Client id').fill('victim');
    const row = page.locator(`tr[data-client-id="${id}"]`);
    await row.waitFor({ timeout: 15000 });
    assert((await row.locator('td').nth(1).textContent()) === 'ws', 'the row shows the WebSocket transport');
    await page.getByRole('button', { name: `Inspect ${id}` }).click();
    await page.getByRole('heading', { name: `Client ${id}` }).waitFor({ timeout: 10000 });
    if (args.screenshotDir) await page.screenshot({ path: join(args.screenshotDir, 'console-clients.png') });
    await page.getByRole('button', { name: `Disconnect ${id}` }).click();
    const reason = await withTimeout(told, 15000, 'the MQTT.js client to be told it was disconnected');
    assert(reason === 0x98, `DISCONNECT reason 0x98 (administrative action), got ${reason}`);
    await row.waitFor({ state: 'detached', timeout: 15000 });
    victim.end(true);
    return `${id} disconnected with 0x98 and gone from the list`;
  },

  async retainedMessageShownInTreeAndDeleted() {
    const topic = `console/${unique('probe')}/state`;
    const [root, middle] = topic.split('/');
    await new Promise((resolve, reject) => loadPub.publish(topic, 'forty-two', { qos: 1, retain: true },
      (e) => (e ? reject(e) : resolve())));
    await view('topics');
    await page.getByRole('button', { name: `${root}, expand` }).click();
    await page.getByRole('button', { name: `${middle}, expand` }).click();
    const leaf = page.locator(`li[data-path="${topic}"]`);
    await until('the retained value in the tree', async () => (await leaf.textContent()).includes('retained: forty-two'));
    if (args.screenshotDir) await page.screenshot({ path: join(args.screenshotDir, 'console-topics.png') });
    await page.getByRole('button', { name: `Delete the retained message of ${topic}` }).click();
    // the topic stays listed with its message count, or leaves the tree if the rates have not counted it yet
    await until('the retained value to leave the tree', async () => (await leaf.count()) === 0
      || !(await leaf.textContent({ timeout: 2000 })).includes('retained:'));
    const api = `${args.consoleUrl}api/v1/retained?topic=${encodeURIComponent(topic)}`;
    await until('the broker to hold no retained message there', async () => (await fetch(api)).status === 404);
    // a new MQTT subscriber gets nothing retained: SUBACK first, then no message before a PINGRESP round trip
    const probe = await connectMqtt(args.mqttTcp, unique('retained-probe'));
    let got = null;
    probe.on('message', (t, p) => { got = `${t}=${p}`; });
    await new Promise((r) => probe.subscribe(topic, { qos: 1 }, r));
    await new Promise((r) => probe.publish('console/ping', '', { qos: 1 }, r));
    probe.end(true);
    assert(got === null, `no retained message after deleting it, got ${got}`);
    return `${topic} shown as retained, deleted from the page`;
  },

  async tryItPanelReceivesWhatAnMqttClientPublishes() {
    await view('try');
    const mqttPanel = page.getByRole('region', { name: 'MQTT over WebSocket' });
    await mqttPanel.getByRole('button', { name: 'Connect' }).click();
    await until('the page\'s MQTT.js to connect', async () => (await mqttPanel.locator('.state').textContent()).startsWith('connected'));
    const base = `tryit/${unique('t')}`;
    await page.getByLabel('MQTT filter').fill(`${base}/#`);
    await mqttPanel.getByRole('button', { name: 'Subscribe' }).click();
    await until('the page\'s MQTT subscription', async () => (await mqttPanel.locator('.state').textContent()).startsWith('subscribed'));

    const stompPanel = page.getByRole('region', { name: 'STOMP over WebSocket' });
    await stompPanel.getByRole('button', { name: 'Connect' }).click();
    await until('the page\'s stomp.js to connect', async () => (await stompPanel.locator('.state').textContent()) === 'connected');
    await page.getByLabel('STOMP destination', { exact: true }).fill(`/topic/${base}/#`);
    await stompPanel.getByRole('button', { name: 'Subscribe' }).click();

    const ssePanel = page.getByRole('region', { name: 'Server-Sent Events' });
    const sseServed = (await fetch(`${args.consoleUrl}sse?filter=${encodeURIComponent(`${base}/#`)}`,
      { signal: AbortSignal.timeout(5000) }).then((r) => { r.body?.cancel(); return r.status === 200; }).catch(() => false));
    if (sseServed) {
      await page.getByLabel('SSE filter').fill(`${base}/#`);
      await ssePanel.getByRole('button', { name: 'Subscribe' }).click();
      await until('the page\'s EventSource to open', async () => (await ssePanel.locator('.state').textContent()).startsWith('subscribed'));
    }

    const sender = await connectMqtt(args.mqttTcp, unique('node-sender'));
    await new Promise((r) => sender.publish(`${base}/one`, 'from MQTT.js in Node', { qos: 1 }, r));
    sender.end(true);
    for (const via of ['MQTT', 'STOMP', ...(sseServed ? ['SSE'] : [])]) {
      const topic = via === 'STOMP' ? `/topic/${base}/one` : `${base}/one`;
      const item = page.locator(`ol.log li[data-via="${via}"][data-topic="${topic}"]`);
      await item.waitFor({ timeout: 15000 });
      const text = await item.textContent();
      assert(text.includes('from MQTT.js in Node'), `${via} shows the payload: ${text}`);
    }

    // and the other way: the page publishes, a Node subscriber receives
    const listener = await connectMqtt(args.mqttTcp, unique('node-listener'));
    const heard = new Promise((resolve) => listener.on('message', (t, p) => resolve(`${t}=${p}`)));
    await new Promise((r) => listener.subscribe(`${base}/from-page`, { qos: 1 }, r));
    await page.getByLabel('MQTT topic').fill(`${base}/from-page`);
    await page.getByLabel('MQTT payload').fill('hello from the page');
    await mqttPanel.getByRole('button', { name: 'Publish' }).click();
    const got = await withTimeout(heard, 15000, 'the Node subscriber to hear the page');
    listener.end(true);
    assert(got === `${base}/from-page=hello from the page`, got);
    if (sseServed) {
      // the page's HTTP publish (POST /publish) reaches its own MQTT subscription
      await page.getByLabel('HTTP topic').fill(`${base}/over-http`);
      await page.getByLabel('HTTP payload').fill('posted by the page');
      await ssePanel.getByRole('button', { name: 'Publish over HTTP' }).click();
      const item = page.locator(`ol.log li[data-via="MQTT"][data-topic="${base}/over-http"]`);
      await item.waitFor({ timeout: 15000 });
      assert((await item.textContent()).includes('posted by the page'), 'the HTTP publish arrives over MQTT');
    }
    if (args.screenshotDir) await page.screenshot({ path: join(args.screenshotDir, 'console-try-it.png') });
    return `received over MQTT, STOMP${sseServed ? ', SSE' : ' (no /sse on this broker)'}; published from the page`;
  },

  async keyboardReachesEveryPage() {
    await view('overview');
    for (const name of ['Clients', 'Topics', 'Try it', 'Settings', 'Overview']) {
      const link = page.getByRole('link', { name, exact: true });
      await link.focus();
      await page.keyboard.press('Enter');
      await until(`the ${name} page`, async () => (await link.getAttribute('aria-current')) === 'page');
      await page.getByRole('heading', { level: 2, name }).waitFor({ timeout: 5000 });
    }
    const unlabeled = await page.evaluate(() => [...document.querySelectorAll('input, select')]
      .filter((el) => !el.labels || el.labels.length === 0).map((el) => el.outerHTML));
    assert(unlabeled.length === 0, `every control has a label: ${unlabeled.join(' ')}`);
    await view('settings');
    await page.getByLabel('Find a setting').fill('admin-max-page');
    await until('the settings filter to find admin-max-page alone', async () => {
      const rows = page.locator('table.settings tbody tr');
      return (await rows.count()) === 1 && (await rows.first().textContent()).includes('--admin-max-page');
    });
    return 'every page reached from the keyboard; every control labelled';
  },
};

let results;
try {
  const out = {};
  for (const name of args.features) {
    const r = await (async () => {
      try {
        const detail = await withTimeout(Promise.resolve().then(checks[name]), 90000, name);
        return { ok: true, detail: detail || '' };
      } catch (e) {
        return { ok: false, detail: `${e.message}${problems.length ? `; ${problems.join('; ')}` : ''}` };
      }
    })();
    out[name] = r;
  }
  results = out;
  if (args.screenshotDir) await overviewScreenshot().catch((e) => problems.push(`overview screenshot: ${e.message}`));
  if (problems.length) {
    for (const r of Object.values(results)) r.detail += ` [page problems: ${problems.join('; ')}]`;
  }
} finally {
  clearInterval(load);
  await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
  loadPub.end(true);
  loadSub.end(true);
  stompSub.deactivate();
}
process.stdout.write(JSON.stringify({ results, published }) + '\n');
process.exit(0);
