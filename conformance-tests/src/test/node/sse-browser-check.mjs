// A real EventSource in headless Chromium (playwright-core, the system's Chromium) against Sluice's GET /sse.
// The page comes from a loopback server that also forwards /sse and /publish to the broker (same origin, as a
// reverse proxy would), and that can cut the streams it forwards and hold new ones back: the broken network.
// Argument: {"chromium": "/usr/bin/chromium", "broker": "http://127.0.0.1:PORT", "historyMessages": N,
//            "checks": [...]}. Prints one JSON line {"results": {...}}.
import { chromium } from 'playwright-core';
import { createServer, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, runChecks, assert, withTimeout } from './checks.mjs';

const args = parseArgs();
const broker = new URL(args.broker);

const PAGE = `<!doctype html><meta charset="utf-8"><title>sse</title><script>
window.streams = {};
window.openStream = (name, filter) => {
  const s = { events: [], resets: [], opens: 0, errors: 0 };
  const es = new EventSource('/sse?filter=' + encodeURIComponent(filter));
  es.onopen = () => s.opens++;
  es.onerror = () => s.errors++;
  es.onmessage = (e) => s.events.push({ id: e.lastEventId, data: JSON.parse(e.data) });
  es.addEventListener('reset', (e) => s.resets.push(JSON.parse(e.data)));
  s.close = () => es.close();
  s.state = () => es.readyState;
  window.streams[name] = s;
};
</script>`;

// the proxy: forwards to the broker, can cut what it forwards and hold new streams
const live = new Set();
let holding = false;
const held = [];

function forward(req, res) {
  const up = request({ host: broker.hostname, port: broker.port, method: req.method, path: req.url,
    headers: req.headers }, (upRes) => {
    res.writeHead(upRes.statusCode, upRes.headers);
    res.flushHeaders();
    upRes.pipe(res);
  });
  up.on('error', () => res.destroy());
  const pair = { up, res };
  live.add(pair);
  res.on('close', () => { live.delete(pair); up.destroy(); });
  req.pipe(up);
}

const server = createServer((req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/index.html') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
  } else if (path === '/sse' && holding) {
    held.push(() => forward(req, res));
  } else if (path === '/sse' || path === '/publish') {
    forward(req, res);
  } else {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

function cutStreams() {
  for (const { up, res } of live) {
    up.destroy();
    res.destroy();
  }
  live.clear();
}

function release() {
  holding = false;
  held.splice(0).forEach((go) => go());
}

async function publish(topic, payload, retain = false) {
  const r = await fetch(`${args.broker}/publish?topic=${encodeURIComponent(topic)}&qos=1&retain=${retain}`,
    { method: 'POST', body: payload });
  assert(r.status === 200, `publish answered ${r.status}`);
}

const userDataDir = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
let context;
let page;

async function until(fn, what, ms = 15000) {
  await withTimeout((async () => {
    while (!(await page.evaluate(fn))) {
      await new Promise((r) => setTimeout(r, 50));
    }
  })(), ms, what);
}

const payloads = (name) => page.evaluate((n) => window.streams[n].events.map((e) => e.data.payload), name);

const checks = {
  // live delivery: retained state first, then messages as they are published, ids on each
  'sse-live': async () => {
    await publish('browser/live/state', 'ready', true);
    await page.evaluate(() => window.openStream('live', 'browser/live/#'));
    await until(() => window.streams.live.opens === 1, 'the stream to open');
    for (let i = 1; i <= 3; i++) await publish('browser/live/n', `m${i}`);
    await until(() => window.streams.live.events.length >= 4, 'four events');
    const got = await payloads('live');
    assert(JSON.stringify(got) === JSON.stringify(['ready', 'm1', 'm2', 'm3']), `got ${JSON.stringify(got)}`);
    const ids = await page.evaluate(() => window.streams.live.events.map((e) => e.id));
    assert(ids.slice(1).every((id) => /^[0-9a-z]+-[0-9]+$/.test(id)), `ids ${ids}`);
    await page.evaluate(() => window.streams.live.close());
    return `events ${JSON.stringify(got)}`;
  },
  // the browser reconnects by itself with Last-Event-ID; what was published meanwhile arrives once, in order
  'sse-resume': async () => {
    await page.evaluate(() => window.openStream('resume', 'browser/resume/#'));
    await until(() => window.streams.resume.opens === 1, 'the stream to open');
    await publish('browser/resume/a', 'r1');
    await until(() => window.streams.resume.events.length === 1, 'r1');
    holding = true;
    cutStreams();
    await until(() => window.streams.resume.errors >= 1, 'the browser to see the cut');
    for (let i = 2; i <= 5; i++) await publish(`browser/resume/${i % 2 ? 'a' : 'b'}`, `r${i}`);
    release();
    await until(() => window.streams.resume.opens === 2, 'the browser to reconnect');
    await publish('browser/resume/a', 'r6');
    await until(() => window.streams.resume.events.length >= 6, 'six events');
    await new Promise((r) => setTimeout(r, 300));
    const got = await payloads('resume');
    assert(JSON.stringify(got) === JSON.stringify(['r1', 'r2', 'r3', 'r4', 'r5', 'r6']), `got ${JSON.stringify(got)}`);
    const resets = await page.evaluate(() => window.streams.resume.resets.length);
    assert(resets === 0, 'no reset expected');
    await page.evaluate(() => window.streams.resume.close());
    return 'r1..r6 once each, in order, across a cut stream';
  },
  // past the history the browser is told: event: reset, then it starts afresh
  'sse-reset': async () => {
    await page.evaluate(() => window.openStream('reset', 'browser/reset/#'));
    await until(() => window.streams.reset.opens === 1, 'the stream to open');
    await publish('browser/reset/x', 'first');
    await until(() => window.streams.reset.events.length === 1, 'first');
    holding = true;
    cutStreams();
    await until(() => window.streams.reset.errors >= 1, 'the browser to see the cut');
    for (let i = 0; i < args.historyMessages + 3; i++) await publish('browser/reset/x', `lost${i}`);
    release();
    await until(() => window.streams.reset.resets.length === 1, 'the reset event');
    await publish('browser/reset/x', 'after');
    await until(() => window.streams.reset.events.some((e) => e.data.payload === 'after'), 'a live message after the reset');
    const reason = await page.evaluate(() => window.streams.reset.resets[0].reason);
    await page.evaluate(() => window.streams.reset.close());
    return `reset: ${reason}`;
  },
};

let results;
try {
  context = await withTimeout(chromium.launchPersistentContext(userDataDir, {
    executablePath: args.chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  }), 60000, `starting ${args.chromium}`);
  page = context.pages()[0] || await context.newPage();
  await page.goto(`${origin}/index.html`, { timeout: 30000 });
  await runChecks(args.checks, checks, 60000);
} catch (e) {
  results = Object.fromEntries(args.checks.map((c) => [c, { ok: false, detail: String(e && e.stack ? e.stack : e) }]));
  process.stdout.write(JSON.stringify({ results }) + '\n');
} finally {
  if (context) await context.close().catch(() => {});
  server.close();
  server.closeAllConnections?.();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(0);
