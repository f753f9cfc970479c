// Headless Chromium (playwright-core, the system's Chromium: no browser download) opens the bundled page
// from a loopback HTTP server and runs the MQTT.js <-> stomp.js round trip in it against the broker.
// Argument: {"pageDir": ".../browser", "chromium": "/usr/bin/chromium", "mqttUrl": "ws://...",
//            "stompUrl": "ws://...", "features": [...], "entry": "sluiceRoundTrip"}; entry names the page's function
// that runs the checks (sluiceCompression: the same clients over compressed WebSockets).
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, withTimeout } from './checks.mjs';

const args = parseArgs();
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

const server = createServer((req, res) => {
  const name = new URL(req.url, 'http://x').pathname.replace(/^\/+/, '') || 'index.html';
  if (!/^[a-z.]+$/.test(name)) {
    res.writeHead(404).end();
    return;
  }
  try {
    const body = readFileSync(join(args.pageDir, name));
    res.writeHead(200, { 'content-type': TYPES[name.slice(name.lastIndexOf('.'))] || 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const pageUrl = `http://127.0.0.1:${server.address().port}/index.html`;

const userDataDir = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
let context;
const problems = [];
let results;
try {
  context = await withTimeout(chromium.launchPersistentContext(userDataDir, {
    executablePath: args.chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  }), 60000, `starting ${args.chromium}`);
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  await page.goto(pageUrl, { timeout: 30000 });
  results = await withTimeout(page.evaluate(({ entry, p }) => window[entry](p), {
    entry: args.entry || 'sluiceRoundTrip',
    p: { mqttUrl: args.mqttUrl, stompUrl: args.stompUrl, features: args.features },
  }), 240000, 'the page\'s checks');
  const agent = await page.evaluate(() => navigator.userAgent);
  for (const r of Object.values(results)) {
    r.detail = `${r.detail} [${agent.match(/(Headless)?Chrome\/[\d.]+/)?.[0] || agent}]`;
    if (!r.ok && problems.length) r.detail += `; ${problems.join('; ')}`;
  }
} catch (e) {
  results = Object.fromEntries(args.features.map((f) => [f, { ok: false, detail: `${e.message}; ${problems.join('; ')}` }]));
} finally {
  if (context) await context.close().catch(() => {});
  server.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify({ results }) + '\n');
process.exit(0);
